// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: classify. Finishes the change set:
//  - a changed table object (a __dyndbg descriptor) changes the functions that use it;
//  - a .cold part is not a function of its own (no ftrace entry, never called, only jumped to
//    from its parent), so when it changes, its parent is what gets patched: gcc moves the
//    unlikely tail of e.g. `kmalloc` failure handling into `foo.cold`, and a changed error
//    message there changes only `foo.cold`;
//  - callbacks declared in the patched source (KPG_*_CALLBACK, templates/include/kpatch-gen.h)
//    are collected from their sections;
//  - for changed functions, DWARF says whether the first difference lies in code inlined from
//    another function, which is the usual answer to "why is this function in my patch?".
#include <fmt/format.h>
#include <set>

#include "diff/passes.h"
#include "dwarf/dwarf.h"

namespace kpg::diff {
namespace {

void propagate_cold_parts(DiffContext &ctx) {
  const ObjectView &pv = *ctx.pv;
  for (SymbolId p : pv.obj().symbols.ids()) {
    const SymFacts &f = pv.facts(p);
    if (f.role != SymRole::ColdPart || !f.parent)
      continue;
    auto ch = ctx.changes.patched.get(p);
    if (!ch || ch->status == Status::Same)
      continue;
    auto parent = ctx.changes.patched.get(*f.parent);
    if (!parent || parent->status != Status::Same)
      continue;
    SymbolChange c;
    c.status = Status::Changed;
    Difference d;
    d.kind = DifferenceKind::Child;
    d.detail = fmt::format("its cold part {} {}", pv.sym(p).name, ch->status == Status::New ? "is new" : "changed");
    if (ch->diff)
      d.detail += fmt::format(" ({} at +0x{:x}: {})", difference_kind_name(ch->diff->kind), ch->diff->offset, ch->diff->detail);
    c.diff = std::make_shared<const Difference>(std::move(d));
    ctx.changes.patched.set(*f.parent, std::move(c));
  }
}

// An object of a table of objects (special_sections.h) that changed beyond its line -- a
// __dyndbg descriptor whose default flags changed because `#define DEBUG` now precedes the
// pr_debug() -- changes the functions (and cold parts) that use it: they are what the patch
// replaces, and they carry the new descriptor with them (descriptors are fresh statics).
void propagate_table_objects(DiffContext &ctx) {
  const ObjectView &pv = *ctx.pv;
  std::set<u32> changed;
  for (SymbolId p : pv.obj().symbols.ids()) {
    auto ch = ctx.changes.patched.get(p);
    if (!ch || ch->status != Status::Changed || pv.facts(p).role != SymRole::Object)
      continue;
    const SpecialSection *t = pv.find_special(pv.sec(*pv.sym(p).section).name);
    if (t && t->policy == SpecialPolicy::Objects)
      changed.insert(to_index(p));
  }
  if (changed.empty())
    return;
  for (SymbolId f : pv.obj().symbols.ids()) {
    const SymFacts &ff = pv.facts(f);
    if (ff.role != SymRole::Function && ff.role != SymRole::ColdPart)
      continue;
    auto ch = ctx.changes.patched.get(f);
    if (!ch || ch->status != Status::Same)
      continue;
    const elf::Symbol &fs = pv.sym(f);
    for (const elf::Reloc &r : pv.relocs_in(*fs.section, fs.value, fs.value + fs.size)) {
      auto t = pv.target_symbol(*fs.section, r);
      if (!t || !changed.count(to_index(*t)))
        continue;
      const SymbolChange &tc = *ctx.changes.patched.get(*t);
      SymbolChange c;
      c.status = Status::Changed;
      Difference d;
      d.kind = DifferenceKind::SpecialEntry;
      d.offset = r.offset - fs.value;
      d.detail = fmt::format("its {} entry {} changed", pv.sec(*pv.sym(*t).section).name, pv.sym(*t).name);
      if (tc.diff)
        d.detail += fmt::format(" ({})", tc.diff->detail);
      c.diff = std::make_shared<const Difference>(std::move(d));
      ctx.changes.patched.set(f, std::move(c));
      break;
    }
  }
}

void find_callbacks(DiffContext &ctx) {
  const ObjectView &pv = *ctx.pv;
  static constexpr std::string_view prefix = ".kpatch_gen.callbacks.";
  for (SectionId sid : pv.obj().sections.ids()) {
    const elf::Section &s = pv.sec(sid);
    if (!s.name.starts_with(prefix))
      continue;
    std::optional<CallbackKind> kind = callback_kind_from_name(std::string_view(s.name).substr(prefix.size()));
    if (!kind) {
      ctx.refuse(code::BAD_CALLBACK, Location(pv.obj().path).with_section(s.name),
                 "unknown callback kind (expected pre_patch, post_patch, pre_unpatch or post_unpatch)");
      continue;
    }
    for (const elf::Reloc &r : pv.relocs_of(sid)) {
      Target t = pv.resolve(sid, r);
      if (t.kind != Target::Kind::Symbol || pv.facts(t.sym).role != SymRole::Function || t.offset != 0) {
        Location loc = Location(pv.obj().path).with_section(s.name, r.offset);
        if (t.kind == Target::Kind::Symbol)
          loc = loc.with_symbol(pv.sym(t.sym).name, t.offset > 0 ? std::optional<u64>(static_cast<u64>(t.offset))
                                                                 : std::nullopt);
        ctx.refuse(code::BAD_CALLBACK, loc,
                   "a callback entry must point at the start of a function defined in this file");
        continue;
      }
      ctx.callbacks.push_back(Callback{*kind, t.sym, ""});
    }
  }
  if (ctx.callbacks.size() > 4)
    ctx.notes.push_back("more than one callback of a kind: the module generator accepts one per kind and object");
}

void explain_inlining(DiffContext &ctx) {
  const ObjectView &pv = *ctx.pv;
  std::vector<SymbolId> changed;
  for (SymbolId p : pv.obj().symbols.ids()) {
    auto ch = ctx.changes.patched.get(p);
    if (ch && ch->status == Status::Changed && ch->diff && pv.facts(p).role == SymRole::Function &&
        (ch->diff->kind == DifferenceKind::Instruction || ch->diff->kind == DifferenceKind::Relocation ||
         ch->diff->kind == DifferenceKind::Immediate))
      changed.push_back(p);
  }
  if (changed.empty())
    return;
  // Only the changed functions' inlining trees are needed (and no line table).
  dwarf::LoadOptions lo;
  lo.lines = false;
  for (SymbolId p : changed)
    lo.inline_sections.push_back(*pv.sym(p).section);
  auto full = ctx.with_debug_info(true);
  if (!full)
    return;
  auto dw = dwarf::ObjectDebugInfo::load(**full, lo);
  if (!dw || !dw->has_info())
    return;
  for (SymbolId p : changed) {
    SymbolChange c = *ctx.changes.patched.get(p);
    const elf::Symbol &s = pv.sym(p);
    auto chain = dw->inline_chain(*s.section, s.value + c.diff->offset);
    if (chain.empty())
      continue;
    Difference d = *c.diff;
    d.inlined_callee = chain.front().callee;
    d.inlined_at = fmt::format("{}:{}", chain.front().call_file, chain.front().call_line);
    c.diff = std::make_shared<const Difference>(std::move(d));
    ctx.changes.patched.set(p, std::move(c));
  }
}

} // namespace

void classify(DiffContext &ctx) {
  propagate_table_objects(ctx); // first: a descriptor used only in foo.cold changes foo.cold, then foo
  propagate_cold_parts(ctx);
  find_callbacks(ctx);
  explain_inlining(ctx);
}

} // namespace kpg::diff
