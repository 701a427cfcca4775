// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: select_special_entries. Keeps exactly the special-section entries of included code
// (special_sections.h explains why both "more" and "fewer" would be wrong), follows what the
// kept entries reference (the file-name string of a bug_entry, the static key of a
// jump_entry, the replacement code of an alt_instr), and refuses allocatable sections it does
// not know that point at included code.
//
// That last check replaces kpatch's most reported error, "changed section X not selected for
// inclusion", with one that names the section and the function: a table the kernel walks that
// we would silently leave behind (or copy wrongly) can make the patched function misbehave.
// Data objects that merely hold function pointers (file_operations, error-injection
// whitelist entries) are not tables: their sites are covered by a named object symbol, and
// they keep pointing at the original function, which ftrace redirects.
#include <algorithm>
#include <fmt/format.h>

#include "diff/passes.h"

namespace kpg::diff {
namespace {

// Is `off` inside a sized function/object of `sec`? symbols_in() is sorted by address and
// objects do not overlap, so the candidate is the last one starting at or before `off`
// (a binary search: this runs for every relocation of every unknown section, and a .data
// with thousands of objects made the linear scan quadratic).
bool covered_by_symbol(const ObjectView &v, SectionId sec, u64 off) {
  const auto &syms = v.symbols_in(sec);
  auto it = std::upper_bound(syms.begin(), syms.end(), off, [&](u64 o, SymbolId s) { return o < v.sym(s).value; });
  for (; it != syms.begin();) {
    const elf::Symbol &sym = v.sym(*--it);
    if (off < sym.value + sym.size)
      return true;
    if (sym.size && sym.value + sym.size <= off && v.facts(*it).role != SymRole::Label)
      return false; // the closest sized symbol before `off` ends before it
  }
  return false;
}

void select_one(DiffContext &ctx, const SpecialSection &spec, std::vector<std::pair<u64, u64>> &repl_kept) {
  const ObjectView &pv = *ctx.pv;
  const auto &secs = pv.special_sections(spec);
  if (secs.empty() || ctx.bad_special.count(spec.name))
    return; // none, or a table whose entry size does not fit: judge_bad_table()
  SectionId sid = secs.front(); // a prefix row (___ksymtab+*) is only ever dropped
  const auto &entries = ctx.pidx->entries_in(spec.name);
  SpecialSelection sel;
  sel.sec = sid;
  sel.spec = &spec;
  sel.entsize = ctx.entry_sizes[spec.name].size;
  sel.total = entries.size();
  if (!spec.has_owner && sel.entsize)
    sel.total = pv.sec(sid).size / sel.entsize;
  switch (spec.policy) {
  case SpecialPolicy::Drop: {
    size_t relevant = 0;
    for (const EntryRef &e : entries)
      relevant += e.owner && ctx.incl.has(*e.owner);
    sel.note = relevant ? fmt::format("dropped all {} entries, {} of them for included code ({})", entries.size(),
                                      relevant, spec.why)
                        : fmt::format("dropped all {} entries ({})", entries.size(), spec.why);
    ctx.special.push_back(std::move(sel));
    return;
  }
  case SpecialPolicy::Objects: {
    // The objects themselves are copied by inclusion (fresh statics that included code uses)
    // and gathered by build_output; this only records which, for the report.
    for (const EntryRef &e : entries)
      if (auto s = pv.symbol_at(e.sec, e.offset); s && ctx.incl.has(*s) && pv.sym(*s).value == e.offset)
        sel.kept.push_back(SpecialEntry{e.offset, std::nullopt});
    sel.note = fmt::format("{} of {} entries carried, those the included code uses ({})", sel.kept.size(),
                           entries.size(), spec.why);
    ctx.special.push_back(std::move(sel));
    return;
  }
  case SpecialPolicy::RunningKernel:
    sel.note = fmt::format("never copied: references go to the running kernel's lists ({})", spec.why);
    ctx.special.push_back(std::move(sel));
    return;
  case SpecialPolicy::Refuse:
    ctx.special.push_back(std::move(sel)); // refused once in refuse_tables()
    return;
  case SpecialPolicy::KeepCompare:
  case SpecialPolicy::KeepDerived:
    break;
  }
  auto in_kept_replacement = [&](const EntryRef &e) {
    if (e.owner_target.kind != Target::Kind::Anonymous || pv.sec(e.owner_target.sec).name != ".altinstr_replacement")
      return false;
    for (auto [a, b] : repl_kept)
      if (e.owner_target.offset >= static_cast<i64>(a) && e.owner_target.offset <= static_cast<i64>(b))
        return true;
    return false;
  };
  // Entries describing out-of-line code of included functions (the ORC of a .fixup chunk, the
  // ex_table entry of the ud2 in a .text..refcount chunk) come with that code.
  auto in_included_chunk = [&](const EntryRef &e) {
    return e.owner_target.kind == Target::Kind::Anonymous && ctx.incl.chunk_at(e.owner_target.sec, e.owner_target.offset);
  };
  for (const EntryRef &e : entries) {
    bool keep = (e.owner && ctx.incl.has(*e.owner)) || in_kept_replacement(e) || in_included_chunk(e);
    if (!keep)
      continue;
    sel.kept.push_back(SpecialEntry{e.offset, e.owner});
    std::string who = fmt::format("{} entry {}", spec.name, e.offset / sel.entsize);
    // The owner field points into code we copy; everything else the entry references is
    // followed like any other reference.
    include_targets_of(ctx, sid, e.offset, e.offset + sel.entsize, who);
    if (spec.repl_offset && spec.repl_len_offset) {
      auto rr = pv.relocs_in(sid, e.offset + *spec.repl_offset, e.offset + *spec.repl_offset + 4);
      if (rr.size() == 1) {
        Target t = pv.resolve(sid, rr[0]);
        u64 len = pv.sec(sid).data[e.offset + *spec.repl_len_offset];
        if (t.kind == Target::Kind::Anonymous && t.offset >= 0) {
          u64 a = static_cast<u64>(t.offset);
          sel.aux_kept.emplace_back(a, a + len);
          repl_kept.emplace_back(a, a + len);
          include_targets_of(ctx, t.sec, a, a + len, who + " replacement");
        }
      }
    }
  }
  ctx.special.push_back(std::move(sel));
}

// A table whose entry size does not fit this object (validate_special.cc): its entries cannot
// be told apart. If one of its relocations points into code the patch carries, an entry
// belongs to that code and would be lost: refused; so it is when the patched code refers to
// one of its entries. If the table differs between the objects, a
// change may hide in it (a bug_entry flag, a fixup type) that compare() could not attribute:
// refused. Otherwise nothing in it concerns the patch: dropped, with a note.
void judge_bad_table(DiffContext &ctx, const SpecialSection &spec, const BadSpecialSection &bad) {
  const ObjectView &pv = *ctx.pv;
  // Every section of the row, as validate_special_sections() saw them: a prefix row
  // (___ksymtab+*) has one per exported function.
  const auto &secs = pv.special_sections(spec);
  for (SectionId sid : secs)
    for (const elf::Reloc &r : pv.relocs_of(sid)) {
      Target t = pv.resolve(sid, r);
      if (t.kind != Target::Kind::Symbol || !ctx.incl.has(t.sym))
        continue;
      SymRole role = pv.facts(t.sym).role;
      if (role != SymRole::Function && role != SymRole::ColdPart)
        continue;
      ctx.refuse(code::BAD_SPECIAL_SECTION, bad.loc.with_symbol(pv.sym(t.sym).name),
                 fmt::format("{}; its relocation at +0x{:x} points into {}, which the patch carries, so its entries "
                             "are needed and must be told apart",
                             bad.problem, r.offset, pv.describe(t)));
      return;
    }
  // Entries the patched code refers to are carried as symbols (a pr_debug() site's
  // __UNIQUE_ID_ddebug descriptor in __dyndbg): the table matters just as much.
  for (SectionId sid : secs)
    for (SymbolId s : pv.symbols_in(sid))
      if (ctx.incl.has(s)) {
        ctx.refuse(code::BAD_SPECIAL_SECTION, bad.loc.with_symbol(pv.sym(s).name),
                   fmt::format("{}; the patch carries its entry {}, so its entries must be told apart", bad.problem,
                               pv.sym(s).name));
        return;
      }
  if (bad.differs) {
    ctx.refuse(code::BAD_SPECIAL_SECTION, bad.loc,
               fmt::format("{}; it has no entry for the patched code, but it differs between the two objects, and "
                           "with its entries not told apart a change in it could go unnoticed",
                           bad.problem));
    return;
  }
  SpecialSelection sel;
  sel.sec = secs.empty() ? SectionId{0} : secs.front(); // as select_one(): a prefix row is dropped whole
  sel.spec = &spec;
  sel.entsize = ctx.entry_sizes[spec.name].size;
  sel.note = fmt::format("dropped without a size check: {}; no entry belongs to the patched code and the table is "
                         "the same in both objects",
                         bad.problem);
  ctx.notes.push_back(fmt::format("{}: {}", spec.name, sel.note));
  if (!secs.empty())
    ctx.special.push_back(std::move(sel));
}

void check_unknown_sections(DiffContext &ctx) {
  const ObjectView &pv = *ctx.pv;
  for (SectionId sid : pv.obj().sections.ids()) {
    const elf::Section &s = pv.sec(sid);
    // Relocations first: most data sections (string literals, counters) have none, and the
    // name lookups below cost more than the whole check of such a section.
    if (pv.relocs_of(sid).empty() || !s.is_alloc() || s.is_exec() || pv.find_special(s.name) ||
        is_ignored_section(s.name) || s.name.starts_with(".kpatch_gen.") || ctx.ignored_sections.count(s.name))
      continue; // ignored_sections: KPATCH_IGNORE_SECTION("name") (author_markers.cc)
    // Runtime constants (6.11+): a copy's runtime_ptr_<sym> sites become loads of <sym> when
    // the output is built (output.cc, rewrite_runtime_consts); a shift by a runtime constant
    // (runtime_shift_<sym>, fs/dcache.c's d_hash()) has no such one-instruction rewrite.
    if (s.name.starts_with("runtime_ptr_"))
      continue;
    bool runtime_shift = s.name.starts_with("runtime_shift_");
    for (const elf::Reloc &r : pv.relocs_of(sid)) {
      Target t = pv.resolve(sid, r);
      if (t.kind != Target::Kind::Symbol || !ctx.incl.has(t.sym))
        continue;
      SymRole role = pv.facts(t.sym).role;
      if (role != SymRole::Function && role != SymRole::ColdPart)
        continue;
      if (covered_by_symbol(pv, sid, r.offset))
        continue; // a data object holding a function pointer, not a table
      if (runtime_shift) {
        ctx.refuse(code::UNSUPPORTED_SPECIAL_SECTION,
                   Location(pv.obj().path).with_section(s.name, r.offset).with_symbol(pv.sym(t.sym).name),
                   fmt::format("{} points into {}, a shift by a runtime constant that only the boot code sets in "
                               "vmlinux (runtime_const_init()): a copy in a module would keep the placeholder",
                               s.name, pv.describe(t)));
        break;
      }
      ctx.refuse(code::UNKNOWN_SPECIAL_SECTION,
                 Location(pv.obj().path).with_section(s.name, r.offset).with_symbol(pv.sym(t.sym).name),
                 fmt::format("section {} is a table kpatch-gen does not know, and its entry at +0x{:x} points into "
                             "{} which the patch replaces: the kernel would keep using the entry for the original. "
                             "If this section is harmless for live patches, it needs an entry in the special-section "
                             "table (lib/diff/special_sections.cc)",
                             s.name, r.offset, pv.describe(t)));
      break; // one message per section
    }
  }
}

// Tables a live patch cannot carry (SpecialPolicy::Refuse): refused when the patched object
// has one and the patch has anything to carry at all, since the code the patch replaces may
// depend on them in ways the diff cannot see (a class'd pr_debug() of drm is controlled
// through the class map its module registered).
void refuse_tables(DiffContext &ctx) {
  if (ctx.incl.order.empty())
    return;
  const ObjectView &pv = *ctx.pv;
  for (const SpecialSection &spec : pv.table()) {
    if (spec.policy != SpecialPolicy::Refuse)
      continue;
    for (SectionId sid : pv.special_sections(spec))
      ctx.refuse(code::UNSUPPORTED_SPECIAL_SECTION, Location(pv.obj().path).with_section(pv.sec(sid).name),
                 fmt::format("this unit has {} ({}), which a live patch cannot carry, and the code the patch "
                             "replaces may depend on it (a class-based pr_debug() is controlled through the class "
                             "map its module registered). Ship this fix as an update of the kernel or module itself",
                             pv.sec(sid).name, spec.why));
  }
}

} // namespace

void select_special_entries(DiffContext &ctx) {
  // Following an entry can include more code (a new function called only from an alternative
  // replacement), whose entries must then be selected too: repeat until nothing new comes in.
  for (int round = 0; round < 8; round++) {
    size_t before = ctx.incl.order.size() + ctx.incl.section_order.size();
    ctx.special.clear();
    std::vector<std::pair<u64, u64>> repl_kept;
    for (const SpecialSection &spec : ctx.pv->table())
      select_one(ctx, spec, repl_kept);
    if (ctx.incl.order.size() + ctx.incl.section_order.size() == before)
      break;
  }
  for (const SpecialSection &spec : ctx.pv->table())
    if (auto b = ctx.bad_special.find(spec.name); b != ctx.bad_special.end())
      judge_bad_table(ctx, spec, b->second);
  check_unknown_sections(ctx);
  refuse_tables(ctx);
}

} // namespace kpg::diff
