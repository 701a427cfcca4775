// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: load_inputs. Reads the two objects and the optional descriptions of the running
// kernel, and refuses pairs that cannot be meaningfully compared (different machine, not
// relocatable, different ELF flags) before any comparison runs.
#include <fmt/format.h>
#include <optional>
#include <thread>

#include "diff/passes.h"
#include "dwarf/dwarf.h"
#include "elf/reader.h"

namespace kpg::diff {

static Expected<void> check_object(const elf::ObjectFile &o) {
  Location loc(o.path);
  if (o.header.type != ET_REL)
    return make_error(loc, fmt::format("not a relocatable object (e_type {}); pass the .o files kbuild compiled", o.header.type));
  if (o.header.machine != EM_X86_64)
    return make_error(loc, fmt::format("machine {} is not x86-64 (EM_X86_64 = 62)", o.header.machine));
  if (o.symbols.size() <= 1)
    return make_error(loc, "no symbol table (stripped object?)");
  // Every pass slices section contents by [st_value, st_value + st_size) of functions and
  // objects (comparison, decoding, copying); a symbol that claims bytes its section does not
  // have is a corrupt object, reported here rather than read out of bounds later.
  for (elf::SymbolId id : o.symbols.ids()) {
    const elf::Symbol &s = o.symbols[id];
    if (!s.section || s.is_section())
      continue;
    const elf::Section &sec = o.sections[*s.section];
    if (s.value > sec.size || s.size > sec.size - s.value)
      return make_error(loc.with_section(sec.name).with_symbol(s.name),
                        fmt::format("symbol {} at 0x{:x} with size 0x{:x} lies outside its section {} (size 0x{:x})",
                                    s.name, s.value, s.size, sec.name, sec.size));
  }
  return {};
}

// Functions compiled without -ffunction-sections share .text, and calls between them are
// resolved by the assembler. The comparison copes (it compares per symbol and follows raw
// branches), but a patch made from such objects copies more and explains less; say so.
static void warn_shared_text(DiffContext &ctx, const elf::ObjectFile &o) {
  auto text = o.find_section(".text");
  if (!text)
    return;
  unsigned funcs = 0;
  for (const elf::Symbol &s : o.symbols)
    if (s.is_func() && s.section == text)
      funcs++;
  if (funcs > 1)
    ctx.diag.warn(Location(o.path).with_section(".text"),
                  fmt::format("{} functions share .text: was this object built with -ffunction-sections "
                              "-fdata-sections?",
                              funcs));
}

static Expected<void> adopt_inputs(DiffContext &ctx, elf::ObjectFile orig, elf::ObjectFile patched);

Expected<void> load_inputs(DiffContext &ctx) {
  elf::ReadOptions ro;
  ro.debug_contents = false; // DWARF is read on demand (DiffContext::with_debug_info)
  // The two reads are independent (separate libelf handles, no shared state): on the usual
  // two cores they take the time of one.
  std::optional<Expected<elf::ObjectFile>> pr;
  std::thread reader([&] { pr.emplace(elf::read_object(ctx.opt.patched_path, ro)); });
  auto o = elf::read_object(ctx.opt.orig_path, ro);
  reader.join();
  if (!o)
    return std::move(o).take_error();
  Expected<elf::ObjectFile> &p = *pr;
  if (!p)
    return std::move(p).take_error();
  return adopt_inputs(ctx, std::move(*o), std::move(*p));
}

Expected<void> load_models(DiffContext &ctx, elf::ObjectFile orig, elf::ObjectFile patched) {
  ctx.models_in_memory = true;
  return adopt_inputs(ctx, std::move(orig), std::move(patched));
}

// Everything load_inputs does once both objects are in memory.
static Expected<void> adopt_inputs(DiffContext &ctx, elf::ObjectFile orig, elf::ObjectFile patched) {
  ctx.orig = std::move(orig);
  ctx.patched = std::move(patched);
  for (const elf::ObjectFile *f : {&ctx.orig, &ctx.patched})
    if (auto c = check_object(*f); !c)
      return c;
  if (ctx.orig.header.flags != ctx.patched.header.flags || ctx.orig.header.osabi != ctx.patched.header.osabi)
    return make_error(Location(ctx.opt.patched_path),
                      fmt::format("ELF header flags/ABI differ from {} (0x{:x}/{} vs 0x{:x}/{}): built by different "
                                  "toolchains?",
                                  ctx.opt.orig_path, ctx.orig.header.flags, ctx.orig.header.osabi,
                                  ctx.patched.header.flags, ctx.patched.header.osabi));
  warn_shared_text(ctx, ctx.orig);
  warn_shared_text(ctx, ctx.patched);

  // The running kernel: as the caller loaded it, or read here from the paths of Options.
  const TargetKernel &tk = ctx.target_kernel;
  ctx.target = tk.symbols;
  if (!ctx.target && !ctx.opt.target_path.empty()) {
    auto t = TargetSymbols::load(ctx.opt.target_path);
    if (!t)
      return std::move(t).take_error();
    ctx.own_target = std::move(*t);
    ctx.target = &*ctx.own_target;
  }
  ctx.symvers = tk.symvers;
  if (!ctx.symvers && !ctx.opt.symvers_path.empty()) {
    auto sv = Symvers::load(ctx.opt.symvers_path);
    if (!sv)
      return std::move(sv).take_error();
    ctx.own_symvers = std::move(*sv);
    ctx.symvers = &*ctx.own_symvers;
  }
  // The kernel line, from what the target and the objects say (special_sections.h).
  std::vector<LineEvidence> evidence;
  if (ctx.opt.kernel_line)
    evidence.push_back({*ctx.opt.kernel_line, "--kernel-line"});
  if (ctx.target && !ctx.target->release().empty()) {
    auto l = kernel_line_of(ctx.target->release());
    if (!l)
      return make_error(Location(ctx.target->path()),
                        fmt::format("release {}: not a kernel line kpatch-gen knows (6.1, 6.12)", ctx.target->release()));
    evidence.push_back({*l, fmt::format("{}: release {}", ctx.target->path(), ctx.target->release())});
  }
  for (const elf::ObjectFile *f : {&ctx.orig, &ctx.patched})
    for (SectionId id : f->sections.ids())
      if (auto l = line_of_section(f->sections[id].name)) {
        evidence.push_back({*l, fmt::format("{}: section {}", f->path, f->sections[id].name)});
        break; // one per object is enough to show which line built it
      }
  auto choice = choose_kernel_line(evidence);
  if (!choice)
    return make_error(Location(ctx.opt.patched_path), choice.error().message);
  ctx.line = choice->line;
  ctx.line_why = choice->why;
  ctx.table = ctx.opt.objtool_at_link ? objtool_at_link_table(special_sections(ctx.line)) : special_sections(ctx.line);
  const SpecialTable &table = ctx.table;

  std::map<std::string, u64> dwarf_sizes;
  if (tk.struct_sizes) {
    dwarf_sizes = *tk.struct_sizes;
  } else if (ctx.target) {
    auto sizes = dwarf::struct_sizes(ctx.target->path(), special_section_structs());
    if (sizes)
      dwarf_sizes = std::move(*sizes);
    else
      ctx.notes.push_back("entry sizes: no usable DWARF in the target (" + sizes.error().message +
                          "); using the kernel line's built-in table");
  }
  for (const auto &[sec, size] : ctx.opt.entry_sizes) {
    bool known = false;
    for (const SpecialSection &s : table)
      known |= s.name == sec || s.aux_section == sec;
    if (!known)
      return make_error(Location("--entry-size"), fmt::format("'{}' is not a special section kpatch-gen knows for "
                                                              "kernel {}",
                                                              sec, kernel_line_name(ctx.line)));
    if (size == 0)
      return make_error(Location("--entry-size"), fmt::format("entry size of '{}' must be positive", sec));
  }
  ctx.entry_sizes = resolve_entry_sizes(table, dwarf_sizes, ctx.opt.entry_sizes);
  // Building a view decodes nothing (code is decoded lazily, on one thread), so the two can be
  // built at once.
  std::thread viewer([&] { ctx.pv = std::make_unique<ObjectView>(ctx.patched, ctx.dec, table); });
  ctx.ov = std::make_unique<ObjectView>(ctx.orig, ctx.dec, table);
  viewer.join();
  auto di = ctx.patched.find_section(".debug_info");
  ctx.patched_has_debug_info = di && ctx.patched.sections[*di].size && !ctx.models_in_memory;
  return {};
}

} // namespace kpg::diff
