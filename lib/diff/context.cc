// SPDX-License-Identifier: GPL-2.0-only
#include "diff/context.h"

#include "dwarf/dwarf.h"
#include "elf/reader.h"

namespace kpg::diff {

DiffContext::DiffContext(const Options &o, const TargetKernel &t, const disasm::Decoder &de)
    : opt(o), dec(de), target_kernel(t) {}
DiffContext::~DiffContext() = default;

// The code is already in `orig`/`patched`: read only what DWARF needs (.debug_* with their
// relocations, and the symbol table). Section ids are the same as in the first read.
static Expected<elf::ObjectFile> read_debug_only(const std::string &path) {
  elf::ReadOptions ro;
  ro.code_contents = false;
  return elf::read_object(path, ro);
}

void DiffContext::prefetch_debug_info(bool patched_side) {
  std::future<Expected<elf::ObjectFile>> &f = patched_side ? patched_prefetch : orig_prefetch;
  if (f.valid() || (patched_side ? patched_full : orig_full))
    return;
  f = std::async(std::launch::async, read_debug_only, patched_side ? opt.patched_path : opt.orig_path);
}

Expected<const elf::ObjectFile *> DiffContext::with_debug_info(bool patched_side) {
  if (models_in_memory)
    return patched_side ? &patched : &orig;
  std::unique_ptr<elf::ObjectFile> &slot = patched_side ? patched_full : orig_full;
  std::future<Expected<elf::ObjectFile>> &f = patched_side ? patched_prefetch : orig_prefetch;
  if (!slot) {
    auto o = f.valid() ? f.get() : read_debug_only(patched_side ? opt.patched_path : opt.orig_path);
    if (!o)
      return std::move(o).take_error();
    slot = std::make_unique<elf::ObjectFile>(std::move(*o));
  }
  return slot.get();
}

void DiffContext::release_debug_info() {
  for (auto *f : {&orig_prefetch, &patched_prefetch})
    if (f->valid())
      f->wait(); // a prefetch nobody asked for (nothing changed): let it end before freeing
  orig_prefetch = {};
  patched_prefetch = {};
  orig_full.reset();
  patched_full.reset();
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
