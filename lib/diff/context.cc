// SPDX-License-Identifier: GPL-2.0-only
#include "diff/context.h"

#include "dwarf/dwarf.h"
#include "elf/reader.h"

namespace kpg::diff {

DiffContext::DiffContext(const Options &o, const TargetKernel &t, const disasm::Decoder &de)
    : opt(o), dec(de), target_kernel(t) {}
DiffContext::~DiffContext() = default;

// The code, the symbols and every other section are already in `orig`/`patched`: read only
// the .debug_* sections that DWARF loading uses, for with_debug_info() to swap into the model.
static Expected<DebugSections> read_debug_only(const elf::ObjectFile *model) {
  return elf::read_debug_sections(*model, dwarf::loads_debug_section);
}

void DiffContext::prefetch_debug_info(bool patched_side) {
  std::future<Expected<DebugSections>> &f = patched_side ? patched_prefetch : orig_prefetch;
  if (f.valid() || (patched_side ? patched_swapped : orig_swapped))
    return;
  // Runs beside compare(), which only reads the models; nothing writes them until
  // with_debug_info() has waited for this read.
  f = std::async(std::launch::async, read_debug_only, patched_side ? &patched : &orig);
}

Expected<const elf::ObjectFile *> DiffContext::with_debug_info(bool patched_side) {
  elf::ObjectFile &model = patched_side ? patched : orig;
  if (models_in_memory)
    return &model;
  std::optional<DebugSections> &slot = patched_side ? patched_swapped : orig_swapped;
  std::future<Expected<DebugSections>> &f = patched_side ? patched_prefetch : orig_prefetch;
  if (!slot) {
    auto d = f.valid() ? f.get() : read_debug_only(&model);
    if (!d)
      return std::move(d).take_error();
    // In: the model's empty debug sections change places with the full ones.
    for (auto &[id, sec] : *d)
      std::swap(model.sections[id], sec);
    slot = std::move(*d);
  }
  return &model;
}

void DiffContext::release_debug_info() {
  for (auto *f : {&orig_prefetch, &patched_prefetch})
    if (f->valid())
      f->wait(); // a prefetch nobody asked for (nothing changed): let it end before freeing
  orig_prefetch = {};
  patched_prefetch = {};
  // Out: the empty sections go back, exactly as load_inputs read them; the full ones are freed.
  for (auto [model, slot] : {std::pair{&orig, &orig_swapped}, std::pair{&patched, &patched_swapped}}) {
    if (*slot)
      for (auto &[id, sec] : **slot)
        std::swap(model->sections[id], sec);
    slot->reset();
  }
  orig_dwarf.reset();
  patched_dwarf.reset();
}

void DiffContext::refuse(const char *c, const Location &loc, std::string message) {
  diag.error(loc, message, c);
  refusals.push_back(Refusal{c, loc, std::move(message)});
}

static Location sym_loc(const ObjectView *v, const std::string &path, SymbolId s, std::optional<u64> off) {
  Location l(path);
  if (!v)
    return l;
  const elf::Symbol &sym = v->sym(s);
  if (sym.section)
    l = l.with_section(v->sec(*sym.section).name, off ? std::optional<u64>(sym.value + *off) : std::optional<u64>(sym.value));
  return l.with_symbol(v->name(s), off);
}

Location DiffContext::loc_orig(SymbolId s, std::optional<u64> off) const { return sym_loc(ov.get(), opt.orig_path, s, off); }
Location DiffContext::loc_patched(SymbolId s, std::optional<u64> off) const {
  return sym_loc(pv.get(), opt.patched_path, s, off);
}

const char *include_kind_name(IncludeKind k) {
  switch (k) {
  case IncludeKind::ChangedFunction: return "changed function";
  case IncludeKind::NewFunction: return "new function";
  case IncludeKind::ColdPart: return "cold part";
  case IncludeKind::NewObject: return "new object";
  case IncludeKind::FreshStatic: return "fresh static";
  case IncludeKind::ReadOnlyLocal: return "read-only static local";
  case IncludeKind::NotraceCopy: return "notrace copy";
  case IncludeKind::OutOfLineCode: return "out-of-line code";
  case IncludeKind::WholeSection: return "section";
  case IncludeKind::Callback: return "callback";
  }
  return "?";
}

const char *difference_kind_name(DifferenceKind k) {
  switch (k) {
  case DifferenceKind::Instruction: return "instruction";
  case DifferenceKind::Relocation: return "relocation";
  case DifferenceKind::Immediate: return "immediate";
  case DifferenceKind::Size: return "size";
  case DifferenceKind::SpecialEntry: return "special-entry";
  case DifferenceKind::Data: return "data";
  case DifferenceKind::Child: return "child";
  case DifferenceKind::NotraceCallee: return "notrace-callee";
  }
  return "?";
}

} // namespace kpg::diff
