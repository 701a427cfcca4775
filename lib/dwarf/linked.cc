// SPDX-License-Identifier: GPL-2.0-only
//
// Queries on a linked image (vmlinux, a module .ko, or any ELF): struct sizes and compile
// units. libdwarf's own ELF reader does the work here; addresses in a linked image are real.
//
// Both walks look only at the top-level children of each unit. Kernel structs and functions
// are defined at file scope (C has no namespaces; GCC puts every DW_TAG_subprogram, including
// the concrete out-of-line instance of a static inline, directly under the CU). Not descending
// matters for speed: a 6.1 defconfig-ish vmlinux has ~3,000 units and tens of millions of
// DIEs, almost all of them inside function bodies and struct member lists; libdwarf skips a
// subtree in one step through DW_AT_sibling.
#include <fmt/format.h>

#include <set>

#include "dwarf/dwarf.h"
#include "dwarf/libdwarf_util.h"

namespace kpg::dwarf {

using detail::Ctx;
using detail::Die;

namespace {

// Calls fn(Die&) for each top-level child of `cu`; fn returns Expected<bool> (false: stop).
template <typename Fn> Expected<bool> for_each_child(const Ctx &ctx, const Die &parent, Fn &&fn) {
  auto c = detail::first_child(ctx, parent.get());
  if (!c)
    return std::move(c).take_error();
  Die cur = std::move(*c);
  while (cur) {
    Expected<bool> more = fn(cur);
    if (!more)
      return std::move(more).take_error();
    if (!*more)
      return false;
    auto n = detail::next_sibling(ctx, cur.get());
    if (!n)
      return std::move(n).take_error();
    cur = std::move(*n);
  }
  return true;
}

// "fs/proc/cmdline.c" matches "fs/proc/cmdline.c", "/src/linux/fs/proc/cmdline.c" and
// "../fs/proc/cmdline.c" (O= builds name units after $(srctree)), but not
// "xfs/proc/cmdline.c": a suffix that starts at a path component.
bool name_matches(const std::string &name, const std::vector<std::string> &suffixes) {
  for (const std::string &s : suffixes) {
    if (s.empty() || !name.ends_with(s))
      continue;
    if (name.size() == s.size() || s.front() == '/' || name[name.size() - s.size() - 1] == '/')
      return true;
  }
  return false;
}

} // namespace

Expected<std::map<std::string, u64>> struct_sizes(const std::string &elf_path, const std::vector<std::string> &names) {
  std::map<std::string, u64> found;
  std::set<std::string> wanted(names.begin(), names.end());
  if (wanted.empty())
    return found;
  auto dbg = detail::open_file(elf_path);
  if (!dbg)
    return std::move(dbg).take_error();
  Ctx ctx(dbg->get(), elf_path);
  auto r = detail::for_each_unit(ctx, [&](Die &cu, const detail::UnitHeader &) -> Expected<bool> {
    return for_each_child(ctx, cu, [&](Die &d) -> Expected<bool> {
      auto tag = detail::die_tag(ctx, d.get());
      if (!tag)
        return std::move(tag).take_error();
      if (*tag != DW_TAG_structure_type)
        return true;
      auto name = ctx.name(d.get());
      if (!name)
        return std::move(name).take_error();
      if (!*name || !wanted.count(**name) || found.count(**name))
        return true;
      // `struct bug_entry;` in a unit that only passes pointers around: no size here.
      auto decl = ctx.flag_attr(d.get(), DW_AT_declaration);
      if (!decl)
        return std::move(decl).take_error();
      if (*decl)
        return true;
      auto size = ctx.udata_attr(d.get(), DW_AT_byte_size);
      if (!size)
        return std::move(size).take_error();
      if (!*size)
        return true;
      found.emplace(**name, **size);
      return found.size() < wanted.size();
    });
  });
  if (!r)
    return std::move(r).take_error();
  return found;
}

namespace {

// The code of a concrete subprogram. A function that GCC split into hot and cold parts
// (foo and foo.cold in .text.unlikely, from -freorder-blocks-and-partition) has DW_AT_ranges
// instead of low/high pc. We report the range that contains DW_AT_low_pc if the DIE has one,
// else the first range: GCC lists the part holding the entry point first. That is the part
// the ELF symbol `foo` describes (st_value/st_size), which is what callers compare against;
// `foo.cold` is a separate local symbol.
std::optional<FunctionInfo> function_code(const detail::PcInfo &pc) {
  if (pc.ranges.empty())
    return std::nullopt;
  const detail::Range *pick = &pc.ranges.front();
  if (pc.low_pc) {
    for (const detail::Range &r : pc.ranges)
      if (r.low <= *pc.low_pc && *pc.low_pc < r.high) {
        pick = &r;
        break;
      }
  }
  FunctionInfo f;
  f.low_pc = pick->low;
  f.size = pick->high - pick->low;
  return f;
}

} // namespace

Expected<std::vector<CompileUnit>> compile_units(const std::string &elf_path, const CuOptions &opts) {
  auto dbg = detail::open_file(elf_path);
  if (!dbg)
    return std::move(dbg).take_error();
  Ctx ctx(dbg->get(), elf_path);
  std::vector<CompileUnit> units;
  auto r = detail::for_each_unit(ctx, [&](Die &cu, const detail::UnitHeader &h) -> Expected<bool> {
    CompileUnit unit;
    auto name = ctx.name(cu.get());
    if (!name)
      return std::move(name).take_error();
    unit.name = name->value_or("");
    if (!opts.only_names.empty() && !name_matches(unit.name, opts.only_names))
      return true;
    for (auto [attr, field] : {std::pair{Dwarf_Half(DW_AT_comp_dir), &unit.comp_dir},
                               std::pair{Dwarf_Half(DW_AT_producer), &unit.producer}}) {
      auto v = ctx.string_attr(cu.get(), attr);
      if (!v)
        return std::move(v).take_error();
      *field = v->value_or("");
    }
    if (opts.functions) {
      // Base address for DWARF 4 .debug_ranges entries (0 when the unit uses DW_AT_ranges).
      auto cu_pc = detail::pc_info(ctx, cu.get(), h.version, 0);
      if (!cu_pc)
        return std::move(cu_pc).take_error();
      u64 cu_base = cu_pc->low_pc.value_or(0);
      auto walked = for_each_child(ctx, cu, [&](Die &d) -> Expected<bool> {
        auto tag = detail::die_tag(ctx, d.get());
        if (!tag)
          return std::move(tag).take_error();
        if (*tag != DW_TAG_subprogram)
          return true;
        auto pc = detail::pc_info(ctx, d.get(), h.version, cu_base);
        if (!pc)
          return std::move(pc).take_error();
        std::optional<FunctionInfo> f = function_code(*pc);
        if (!f) // a declaration or an abstract (inline-only) instance: no code of its own
          return true;
        auto fname = detail::resolved_name(ctx, d.get());
        if (!fname)
          return std::move(fname).take_error();
        f->name = fname->value_or("");
        unit.functions.push_back(std::move(*f));
        return true;
      });
      if (!walked)
        return std::move(walked).take_error();
    }
    units.push_back(std::move(unit));
    return true;
  });
  if (!r)
    return std::move(r).take_error();
  return units;
}

} // namespace kpg::dwarf
