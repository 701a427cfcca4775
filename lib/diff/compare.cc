// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: compare. Decides, for every twin pair, whether the patched symbol differs from the
// original in a way the running kernel would notice, and records the first difference.
//
// Functions are compared as instruction streams, not as byte blobs:
//  - bytes are compared with relocation fields masked; the relocations are compared by what
//    they point at (twin symbol + offset, string contents, constant bytes), because the same
//    `lea .LC3(%rip)` reads another string when a literal earlier in the file changed, and the
//    same string may move in .rodata.str1.1 without any code change;
//  - a branch without a relocation whose target lies outside the function (two functions of
//    one shared section, e.g. .sched.text: GNU as resolves the call itself) is compared by the
//    name of the function it reaches, so a size change of a neighbour is not a change here;
//  - the function's special-section entries that carry meaning the code bytes do not
//    (bug_entry flags, exception fixup types, jump-label keys, alternative replacements) are
//    compared too: WARN_ON -> WARN_ON_ONCE only changes a bug_entry flag.
// Data objects are compared by size and by contents with the same relocation rules.
#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <set>

#include "diff/passes.h"

namespace kpg::diff {
namespace {

// Bits of a region that comparison skips: `mask` selects them in the little-endian word of
// `width` bytes at `offset` (from the region start). Relocations in that word are skipped too.
struct IgnoredBits {
  u64 offset = 0, width = 0, mask = 0;
};

IgnoredBits ignored_line(const LineField &f) { return IgnoredBits{f.offset, f.width, f.mask}; }

// The masked value of a line field in an entry or object at `start` of `sec`.
u64 line_value(const ObjectView &v, SectionId sec, u64 start, const LineField &f) {
  const auto &d = v.sec(sec).data;
  u64 x = 0;
  for (u64 k = 0; k < f.width && start + f.offset + k < d.size(); k++)
    x |= static_cast<u64>(d[start + f.offset + k]) << (8 * k);
  return x & f.mask;
}

bool comparable(const ObjectView &v, SymbolId id) {
  const SymFacts &f = v.facts(id);
  return (f.role == SymRole::Function || f.role == SymRole::ColdPart || f.role == SymRole::Object) &&
         v.sym(id).section.has_value();
}

class Comparer {
public:
  explicit Comparer(DiffContext &ctx) : ctx_(ctx), ov_(*ctx.ov), pv_(*ctx.pv) {}
  void run();

  // Are these two relocation targets the same thing (as the running kernel would see it)?
  bool same_target(const Target &o, const Target &p) const;
  bool same_destination(SymbolId o, SymbolId p) const;
  static std::optional<SymbolId> branch_anchor(const ObjectView &v, SectionId sec, i64 off);

private:
  std::optional<Difference> compare_function(SymbolId o, SymbolId p);
  bool identical_bundled_function(SymbolId o, SymbolId p) const;
  bool same_reloc_symbol(SymbolId o, SymbolId p, i64 min_offset) const;
  bool identical_plain_section(SectionId o, SectionId p) const;
  bool same_plain_fresh_static(SymbolId o, SymbolId p) const;
  bool same_section(const std::string &name) const;
  std::optional<bool> same_chunk(const Target &o, const Target &p) const;
  std::string relocation_detail(const Target &ta, const Target &tb) const;
  std::optional<Difference> compare_object(SymbolId o, SymbolId p);
  std::optional<Difference> compare_entries(SymbolId o, SymbolId p);
  bool same_region(SectionId osec, u64 ooff, SectionId psec, u64 poff, u64 len,
                   std::optional<IgnoredBits> ignore = std::nullopt) const;
  bool same_anonymous_section(SectionId o, SectionId p) const;
  std::string insn_text(const ObjectView &v, SectionId sec, const disasm::Insn &i) const;
  std::optional<std::pair<i64, i64>> string_line_difference(const Target &o, const Target &p) const;

  DiffContext &ctx_;
  const ObjectView &ov_, &pv_;
  // Entries of the function being compared that differ only in their line field (the
  // WARN_ON() below an inserted line: same code, bug_entry.line 212 -> 214), for the report.
  std::vector<std::string> entry_lines_;
  mutable std::map<std::pair<u32, u32>, bool> anon_cache_;
  mutable std::map<std::pair<u64, u64>, bool> chunk_cache_; // (orig chunk start, patched chunk start)
  mutable std::map<std::pair<u32, u32>, bool> plain_cache_;
};

bool Comparer::same_anonymous_section(SectionId o, SectionId p) const {
  auto key = std::make_pair(to_index(o), to_index(p));
  if (auto it = anon_cache_.find(key); it != anon_cache_.end())
    return it->second;
  anon_cache_[key] = true; // cycles (a table pointing into itself) are assumed equal while checking
  const elf::Section &a = ov_.sec(o), &b = pv_.sec(p);
  bool same = a.size == b.size && a.type == b.type && same_region(o, 0, p, 0, a.size);
  anon_cache_[key] = same;
  return same;
}

// Out-of-line code without symbol (code_chunks.h): the same if the chunks are, wherever they
// sit in their sections (one function's .fixup chunk growing moves the others). nullopt when
// the places are not chunks.
std::optional<bool> Comparer::same_chunk(const Target &o, const Target &p) const {
  auto co = ctx_.ochunks ? ctx_.ochunks->chunk_at(o.sec, o.offset) : std::nullopt;
  auto cp = ctx_.pchunks ? ctx_.pchunks->chunk_at(p.sec, p.offset) : std::nullopt;
  if (!co || !cp)
    return std::nullopt;
  u64 len = co->second - co->first;
  if (o.offset - static_cast<i64>(co->first) != p.offset - static_cast<i64>(cp->first) || len != cp->second - cp->first)
    return false;
  auto key = std::make_pair(co->first, cp->first);
  if (auto it = chunk_cache_.find(key); it != chunk_cache_.end())
    return it->second;
  chunk_cache_[key] = true; // a chunk jumping to itself is assumed equal while checking
  bool same = same_region(o.sec, co->first, p.sec, cp->first, len);
  chunk_cache_[key] = same;
  return same;
}

// The symbol a raw branch is measured from: the function/object it lands in or, in
// assembly, the closest symbol before it (copy_user_64.S jumps to .Lcopy_user_handle_tail,
// a local label that is not in the symbol table: "copy_user_enhanced_fast_string+0x20").
std::optional<SymbolId> Comparer::branch_anchor(const ObjectView &v, SectionId sec, i64 off) {
  if (off < 0)
    return std::nullopt;
  if (auto s = v.symbol_at(sec, static_cast<u64>(off)))
    return s;
  const auto &syms = v.symbols_in(sec);
  auto it = std::upper_bound(syms.begin(), syms.end(), static_cast<u64>(off),
                             [&](u64 o, SymbolId x) { return o < v.sym(x).value; });
  if (it == syms.begin())
    return std::nullopt;
  return *std::prev(it);
}

// The symbols a raw branch lands in. Functions and objects by twin; assembler code symbols
// that are never correlated (arch/x86/lib/putuser.S jumps from __put_user_1 to
// .Lbad_put_user inside the NOTYPE __put_user_handle_exception) by name and kind, or an
// object diffed against itself would report them changed.
bool Comparer::same_destination(SymbolId o, SymbolId p) const {
  if (auto twin = ctx_.corr.o2p.get(o))
    return *twin == p;
  return !ctx_.corr.p2o.has(p) && ov_.facts(o).role == pv_.facts(p).role && ov_.sym(o).name == pv_.sym(p).name;
}

bool Comparer::same_target(const Target &o, const Target &p) const {
  if (o.kind != p.kind)
    return false;
  switch (o.kind) {
  case Target::Kind::String:
    return ov_.string_at(o.sec, static_cast<u64>(std::max<i64>(o.offset, 0))) ==
           pv_.string_at(p.sec, static_cast<u64>(std::max<i64>(p.offset, 0)));
  case Target::Kind::Undefined:
    return o.offset == p.offset && ov_.sym(o.sym).name == pv_.sym(p.sym).name;
  case Target::Kind::Anonymous: {
    auto twin = ctx_.corr.sec_o2p.get(o.sec);
    if (!twin || *twin != p.sec)
      return false;
    if (ov_.sec(o.sec).is_exec())
      if (auto same = same_chunk(o, p))
        return *same;
    if (o.offset != p.offset)
      return false;
    const elf::Section &s = ov_.sec(o.sec);
    if ((s.flags & SHF_MERGE) && s.entsize > 0) // .rodata.cst16: compare the constant itself
      return o.offset >= 0 && same_region(o.sec, static_cast<u64>(o.offset), p.sec, static_cast<u64>(p.offset), s.entsize);
    return same_anonymous_section(o.sec, p.sec);
  }
  case Target::Kind::Symbol: {
    if (o.offset != p.offset)
      return false;
    if (auto twin = ctx_.corr.o2p.get(o.sym))
      return *twin == p.sym;
    // Fresh statics are never correlated; they are the same if they are the same kind of
    // thing with the same contents (`__func__.12` holding "cmdline_proc_show").
    const SymFacts &fo = ov_.facts(o.sym), &fp = pv_.facts(p.sym);
    if (fo.fresh_static && fp.fresh_static && fo.name.key == fp.name.key) {
      const elf::Symbol &so = ov_.sym(o.sym), &sp = pv_.sym(p.sym);
      return so.size == sp.size && same_region(*so.section, so.value, *sp.section, sp.value, so.size);
    }
    return false;
  }
  }
  return false;
}

// Bytes [ooff, ooff+len) vs [poff, poff+len), relocation fields masked and relocations
// compared by target. `ignore` names bits (relative to the region start) whose value and
// relocations are not compared (a line field; a field compared separately by the caller).
bool Comparer::same_region(SectionId osec, u64 ooff, SectionId psec, u64 poff, u64 len,
                           std::optional<IgnoredBits> ignore) const {
  const elf::Section &a = ov_.sec(osec), &b = pv_.sec(psec);
  std::span<const elf::Reloc> ro = ov_.relocs_in(osec, ooff, ooff + len), rp = pv_.relocs_in(psec, poff, poff + len);
  std::vector<elf::Reloc> ro_kept, rp_kept;
  if (ignore) {
    auto outside = [&](u64 base) {
      return [=](const elf::Reloc &r) {
        return r.offset - base < ignore->offset || r.offset - base >= ignore->offset + ignore->width;
      };
    };
    std::ranges::copy_if(ro, std::back_inserter(ro_kept), outside(ooff));
    std::ranges::copy_if(rp, std::back_inserter(rp_kept), outside(poff));
    ro = ro_kept;
    rp = rp_kept;
  }
  if (ro.size() != rp.size())
    return false;
  // Per byte: the bits that take part in the comparison.
  std::vector<u8> care(len, 0xff);
  if (ignore)
    for (u64 k = 0; k < ignore->width && ignore->offset + k < len; k++)
      care[ignore->offset + k] = static_cast<u8>(~(ignore->mask >> (8 * k)));
  for (size_t k = 0; k < ro.size(); k++) {
    if (ro[k].offset - ooff != rp[k].offset - poff || ro[k].type != rp[k].type)
      return false;
    if (!same_target(ov_.resolve(osec, ro[k]), pv_.resolve(psec, rp[k])))
      return false;
    for (u64 w = 0; w < elf::x86_64_reloc_width(ro[k].type) && ro[k].offset - ooff + w < len; w++)
      care[ro[k].offset - ooff + w] = 0;
  }
  if (a.is_nobits() || b.is_nobits())
    return a.is_nobits() == b.is_nobits();
  if (ooff + len > a.data.size() || poff + len > b.data.size())
    return false;
  for (u64 k = 0; k < len; k++)
    if ((a.data[ooff + k] ^ b.data[poff + k]) & care[k])
      return false;
  return true;
}

// Two strings that differ only in one run of digits right after "<file>.c:" or "<file>.h:"
// (__FILE__ ":" __stringify(__LINE__)): the two numbers. Whether they are the lines of the
// code that uses the strings is for ignore_line_only_changes() to check against DWARF.
std::optional<std::pair<i64, i64>> Comparer::string_line_difference(const Target &o, const Target &p) const {
  if (o.kind != Target::Kind::String || p.kind != Target::Kind::String || o.offset < 0 || p.offset < 0)
    return std::nullopt;
  std::string_view a = ov_.string_at(o.sec, static_cast<u64>(o.offset));
  std::string_view b = pv_.string_at(p.sec, static_cast<u64>(p.offset));
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i])
    i++;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t start = i;
  while (start > 0 && digit(a[start - 1]))
    start--;
  if (start < 3 || a[start - 1] != ':' || a[start - 3] != '.' || (a[start - 2] != 'c' && a[start - 2] != 'h'))
    return std::nullopt;
  size_t ea = start, eb = start;
  while (ea < a.size() && digit(a[ea]))
    ea++;
  while (eb < b.size() && digit(b[eb]))
    eb++;
  if (ea == start || eb == start || ea - start > 9 || eb - start > 9 || a.substr(ea) != b.substr(eb))
    return std::nullopt;
  return std::make_pair(std::stoll(std::string(a.substr(start, ea - start))),
                        std::stoll(std::string(b.substr(start, eb - start))));
}

std::string Comparer::insn_text(const ObjectView &v, SectionId sec, const disasm::Insn &i) const {
  const auto &d = v.sec(sec).data;
  std::string text = v.decoder().format(std::span<const u8>(d.data(), d.size()), i);
  // Name what relocations inside the instruction point at: "call 0x0" means nothing.
  for (const elf::Reloc &r : v.relocs_in(sec, i.offset, i.end()))
    text += "  # " + v.describe(v.resolve(sec, r));
  return text;
}

// Twin sections without named symbols or relocations whose bytes are identical (a unit's
// string literals, constant pools): any offset into one is the same string or constant as the
// same offset into the other.
bool Comparer::identical_plain_section(SectionId o, SectionId p) const {
  auto key = std::make_pair(to_index(o), to_index(p));
  if (auto it = plain_cache_.find(key); it != plain_cache_.end())
    return it->second;
  const elf::Section &a = ov_.sec(o), &b = pv_.sec(p);
  // Labels (the .LC0 of a __FILE__ that inline asm also references) do not count: resolve()
  // never names them as targets.
  auto unnamed = [](const ObjectView &v, SectionId s) {
    return std::ranges::all_of(v.symbols_in(s), [&](SymbolId x) { return v.facts(x).role == SymRole::Label; });
  };
  bool same = a.type == b.type && a.flags == b.flags && a.entsize == b.entsize && a.size == b.size &&
              a.data == b.data && a.relocs.empty() && b.relocs.empty() && unnamed(ov_, o) && unnamed(pv_, p);
  plain_cache_[key] = same;
  return same;
}

// Do two relocations with the same site, type and addend -- in byte-identical code, so with
// the same PC-relative bias, at least `min_offset` past the symbol -- point at the same thing,
// as same_target() would decide after decoding? Only answers yes when that needs no decoding.
bool Comparer::same_reloc_symbol(SymbolId o, SymbolId p, i64 min_offset) const {
  const elf::Symbol &a = ov_.sym(o), &b = pv_.sym(p);
  if (!a.section || !b.section) // undefined (or absolute): compared by name
    return !a.section && !b.section && a.special_shndx == b.special_shndx && a.name == b.name;
  SymRole ra = ov_.facts(o).role, rb = pv_.facts(p).role;
  // Section symbols and labels both stand for "this section + value + addend (+ bias)".
  bool place_a = a.is_section() || ra == SymRole::Label, place_b = b.is_section() || rb == SymRole::Label;
  if (!place_a || !place_b) {
    bool named = ra == SymRole::Function || ra == SymRole::ColdPart || ra == SymRole::Object;
    return named && ra == rb && ctx_.corr.o2p.get(o) == p;
  }
  SectionId sa = *a.section, sb = *b.section;
  if (a.value != b.value || ctx_.corr.sec_o2p.get(sa) != sb)
    return false;
  // A section holding one function/object: the target is that symbol on both sides.
  const auto &va = ov_.symbols_in(sa), &vb = pv_.symbols_in(sb);
  if (va.size() == 1 && vb.size() == 1 && ov_.facts(va[0]).bundled && pv_.facts(vb[0]).bundled &&
      ov_.sym(va[0]).value == pv_.sym(vb[0]).value && min_offset >= static_cast<i64>(ov_.sym(va[0]).value))
    return ctx_.corr.o2p.get(va[0]) == vb[0] || same_plain_fresh_static(va[0], vb[0]);
  return identical_plain_section(sa, sb);
}

// Fresh statics are never correlated; same_target() compares them by contents. Without
// relocations in either, that is a byte comparison, which the fast path can make too (a
// function using a `static const` table or a `CSWTCH` switch table need not be decoded).
bool Comparer::same_plain_fresh_static(SymbolId o, SymbolId p) const {
  const SymFacts &fo = ov_.facts(o), &fp = pv_.facts(p);
  if (!fo.fresh_static || !fp.fresh_static || fo.name.key != fp.name.key)
    return false;
  const elf::Symbol &so = ov_.sym(o), &sp = pv_.sym(p);
  if (so.size != sp.size || !ov_.sec(*so.section).relocs.empty() || !pv_.sec(*sp.section).relocs.empty())
    return false;
  const elf::Section &a = ov_.sec(*so.section), &b = pv_.sec(*sp.section);
  if (a.is_nobits() || b.is_nobits())
    return a.is_nobits() && b.is_nobits();
  if (so.value + so.size > a.data.size() || sp.value + sp.size > b.data.size())
    return false;
  return std::equal(a.data.begin() + static_cast<long>(so.value), a.data.begin() + static_cast<long>(so.value + so.size),
                    b.data.begin() + static_cast<long>(sp.value));
}

// What a relocation difference means, in words: "refers to X instead of Y", or for a
// read-only static local (never correlated, compared by contents) that its contents changed.
std::string Comparer::relocation_detail(const Target &ta, const Target &tb) const {
  if (ta.kind == Target::Kind::Symbol && tb.kind == Target::Kind::Symbol) {
    const SymFacts &fo = ov_.facts(ta.sym), &fp = pv_.facts(tb.sym);
    if (fo.read_only_local && fp.read_only_local && fo.name.key == fp.name.key && ta.offset == tb.offset) {
      const elf::Symbol &so = ov_.sym(ta.sym), &sp = pv_.sym(tb.sym);
      return fmt::format("uses read-only static local {} whose {} differ from the original's {}{}: the patched code "
                         "gets its own copy",
                         sp.name, so.size == sp.size ? "contents" : "size and contents", so.name,
                         so.size == sp.size ? "" : fmt::format(" ({} -> {} bytes)", so.size, sp.size));
    }
  }
  return fmt::format("refers to {} instead of {}", pv_.describe(tb), ov_.describe(ta));
}

// Most functions of a large unit did not change. When both copies are alone in their sections
// (-ffunction-sections), with identical bytes and relocations that point at the same things
// without decoding (same_reloc_symbol), compare_function() would find no difference:
// identical bytes decode to identical instructions, so every PC-relative bias is the same on
// both sides and equal addends mean equal targets; a lone function has no raw branches out of
// its section. Decoding dominates the diff of a 10k-function unit, and this skips it.
bool Comparer::identical_bundled_function(SymbolId o, SymbolId p) const {
  if (!ov_.facts(o).bundled || !pv_.facts(p).bundled)
    return false;
  const elf::Symbol &so = ov_.sym(o), &sp = pv_.sym(p);
  SectionId osec = *so.section, psec = *sp.section;
  if (so.value != sp.value || so.size != sp.size || ov_.sec(osec).data != pv_.sec(psec).data)
    return false;
  auto ra = ov_.relocs_of(osec), rb = pv_.relocs_of(psec);
  if (ra.size() != rb.size())
    return false;
  bool code = ov_.sec(osec).is_exec();
  for (size_t k = 0; k < ra.size(); k++) {
    if (ra[k].offset != rb[k].offset || ra[k].type != rb[k].type || ra[k].addend != rb[k].addend)
      return false;
    i64 min_bias = code && is_pc_relative(ra[k].type) ? elf::x86_64_reloc_width(ra[k].type) : 0;
    if (!same_reloc_symbol(ra[k].sym, rb[k].sym, static_cast<i64>(ov_.sym(ra[k].sym).value) + ra[k].addend + min_bias))
      return false;
  }
  return true;
}

std::optional<Difference> Comparer::compare_function(SymbolId o, SymbolId p) {
  if (identical_bundled_function(o, p))
    return compare_entries(o, p);
  const elf::Symbol &so = ov_.sym(o), &sp = pv_.sym(p);
  SectionId osec = *so.section, psec = *sp.section;
  const auto &oi = ov_.code_of(o).insns;
  const auto &pi = pv_.code_of(p).insns;
  size_t n = std::min(oi.size(), pi.size());
  std::optional<Difference> imm_only; // differences so far are all immediates
  for (size_t k = 0; k < n; k++) {
    const disasm::Insn &a = oi[k], &b = pi[k];
    u64 aoff = a.offset - so.value, boff = b.offset - sp.value;
    auto differ = [&](DifferenceKind kind, std::string detail) {
      return make_difference(kind, boff, insn_text(ov_, osec, a), insn_text(pv_, psec, b), std::move(detail));
    };
    if (a.size != b.size || aoff != boff)
      return differ(DifferenceKind::Instruction, "different instruction");
    auto ra = ov_.relocs_in(osec, a.offset, a.end());
    auto rb = pv_.relocs_in(psec, b.offset, b.end());
    std::vector<bool> mask(a.size, false);
    if (ra.size() != rb.size())
      return differ(DifferenceKind::Relocation, "different relocations");
    for (size_t r = 0; r < ra.size(); r++) {
      if (ra[r].offset - a.offset != rb[r].offset - b.offset || ra[r].type != rb[r].type)
        return differ(DifferenceKind::Relocation, "different relocation");
      Target ta = ov_.resolve(osec, ra[r]), tb = pv_.resolve(psec, rb[r]);
      if (!same_target(ta, tb)) {
        // A "<file>:<line>" string whose line moved: judged by ignore_line_only_changes().
        auto lines = string_line_difference(ta, tb);
        if (!lines)
          return differ(DifferenceKind::Relocation, relocation_detail(ta, tb));
        if (!imm_only)
          imm_only = differ(DifferenceKind::Immediate, fmt::format("refers to {} instead of {}", pv_.describe(tb), ov_.describe(ta)));
        ImmSite site{a.offset, b.offset, k, lines->first, lines->second};
        site.in_string = true;
        imm_only->imm_sites.push_back(site);
      }
      for (u64 w = 0; w < elf::x86_64_reloc_width(ra[r].type) && ra[r].offset - a.offset + w < a.size; w++)
        mask[ra[r].offset - a.offset + w] = true;
    }
    // Raw branches leaving the function: compare by destination name.
    if (a.branch_target && b.branch_target && ra.empty()) {
      i64 ta = *a.branch_target, tb = *b.branch_target;
      bool a_out = ta < static_cast<i64>(so.value) || ta >= static_cast<i64>(so.value + so.size);
      bool b_out = tb < static_cast<i64>(sp.value) || tb >= static_cast<i64>(sp.value + sp.size);
      if (a_out != b_out)
        return differ(DifferenceKind::Instruction, "branch target moved in or out of the function");
      if (a_out) {
        auto fa = branch_anchor(ov_, osec, ta);
        auto fb = branch_anchor(pv_, psec, tb);
        bool same = fa && fb && same_destination(*fa, *fb) &&
                    ta - static_cast<i64>(ov_.sym(*fa).value) == tb - static_cast<i64>(pv_.sym(*fb).value);
        if (!same)
          return differ(DifferenceKind::Instruction, "branch to a different function");
        for (u64 w = a.size - a.branch_disp_size; w < a.size; w++)
          mask[w] = true;
      }
    }
    const u8 *da = ov_.sec(osec).data.data() + a.offset;
    const u8 *db = pv_.sec(psec).data.data() + b.offset;
    bool bytes_differ = false;
    for (u64 w = 0; w < a.size; w++)
      if (!mask[w] && da[w] != db[w])
        bytes_differ = true;
    if (!bytes_differ)
      continue;
    // Same operation on the same operands but another immediate: keep going and let
    // ignore_line_only_changes() judge (might_sleep()'s `mov $__LINE__,%esi`).
    std::vector<std::pair<i64, i64>> diffs;
    const auto &od = ov_.sec(osec).data, &pd = pv_.sec(psec).data;
    if (ra.empty() && ctx_.dec.same_except_immediates(std::span<const u8>(od.data(), od.size()), a,
                                                      std::span<const u8>(pd.data(), pd.size()), b, &diffs) &&
        !diffs.empty()) {
      if (!imm_only)
        imm_only = differ(DifferenceKind::Immediate, "different immediate operand");
      for (auto [va, vb] : diffs)
        imm_only->imm_sites.push_back(ImmSite{a.offset, b.offset, k, va, vb});
      continue;
    }
    return differ(DifferenceKind::Instruction, "different instruction");
  }
  if (oi.size() != pi.size()) {
    u64 at = n < pi.size() ? pi[n].offset - sp.value : sp.size;
    return make_difference(DifferenceKind::Size, at, fmt::format("{} instructions, {} bytes", oi.size(), so.size),
                      fmt::format("{} instructions, {} bytes", pi.size(), sp.size),
                      oi.size() < pi.size() ? "the patched function is longer" : "the patched function is shorter");
  }
  if (auto d = compare_entries(o, p))
    return d;
  return imm_only;
}

std::optional<Difference> Comparer::compare_entries(SymbolId o, SymbolId p) {
  auto keep_compare = [](const EntryRef &e) { return e.spec->policy == SpecialPolicy::KeepCompare; };
  std::vector<EntryRef> eo, ep;
  for (const EntryRef &e : ctx_.oidx->entries_of(o))
    if (keep_compare(e))
      eo.push_back(e);
  for (const EntryRef &e : ctx_.pidx->entries_of(p))
    if (keep_compare(e))
      ep.push_back(e);
  for (size_t k = 0; k < std::max(eo.size(), ep.size()); k++) {
    if (k >= eo.size() || k >= ep.size() || eo[k].spec != ep[k].spec) {
      const EntryRef &any = k < ep.size() ? ep[k] : eo[k];
      return make_difference(DifferenceKind::SpecialEntry, k < ep.size() ? static_cast<u64>(ep[k].owner_off) : 0,
                        fmt::format("{} entries", eo.size()), fmt::format("{} entries", ep.size()),
                        fmt::format("different set of {} entries", any.spec->name));
    }
    const EntryRef &a = eo[k], &b = ep[k];
    std::optional<IgnoredBits> ignore;
    const LineField *line = a.spec->line_field && a.spec->line_field->applies(a.entsize) ? &*a.spec->line_field : nullptr;
    if (line)
      ignore = ignored_line(*line);
    // struct alt_instr.repl_offset points into .altinstr_replacement, which holds the
    // replacements of every function of the unit back to back: comparing it as "the same
    // place in the same anonymous section" would make every function with an alternative
    // change when one replacement changes (or when one before it grows). The replacement is
    // compared by its own bytes and relocations below instead.
    bool alt = a.spec->repl_offset && a.spec->repl_len_offset;
    if (alt)
      ignore = IgnoredBits{*a.spec->repl_offset, 4, 0xffffffff};
    bool same = a.owner_off == b.owner_off && same_region(a.sec, a.offset, b.sec, b.offset, a.entsize, ignore);
    if (same && line && !alt) {
      u64 la = line_value(ov_, a.sec, a.offset, *line), lb = line_value(pv_, b.sec, b.offset, *line);
      if (la != lb)
        entry_lines_.push_back(fmt::format("+0x{:x}: {} line {} -> {}", b.owner_off, b.spec->name, la, lb));
    }
    // struct alt_instr: the replacement instructions live in .altinstr_replacement (their
    // length, replacementlen, was compared with the entry's bytes).
    if (same && alt) {
      auto ra = ov_.relocs_in(a.sec, a.offset + *a.spec->repl_offset, a.offset + *a.spec->repl_offset + 4);
      auto rb = pv_.relocs_in(b.sec, b.offset + *b.spec->repl_offset, b.offset + *b.spec->repl_offset + 4);
      if (ra.size() != rb.size() || ra.size() > 1) {
        same = false;
      } else if (ra.size() == 1) {
        Target ta = ov_.resolve(a.sec, ra[0]), tb = pv_.resolve(b.sec, rb[0]);
        u64 len = ov_.sec(a.sec).data[a.offset + *a.spec->repl_len_offset];
        if (ta.kind == Target::Kind::Anonymous && tb.kind == Target::Kind::Anonymous && ta.offset >= 0 && tb.offset >= 0)
          same = same_region(ta.sec, static_cast<u64>(ta.offset), tb.sec, static_cast<u64>(tb.offset), len);
        else
          same = same_target(ta, tb);
      }
    }
    if (!same)
      return make_difference(DifferenceKind::SpecialEntry, static_cast<u64>(b.owner_off), fmt::format("{} entry at +0x{:x}", a.spec->name, a.offset),
                        fmt::format("{} entry at +0x{:x}", b.spec->name, b.offset),
                        fmt::format("the {} entry for this site differs ({})", a.spec->name, a.spec->why));
  }
  return std::nullopt;
}

std::optional<Difference> Comparer::compare_object(SymbolId o, SymbolId p) {
  const elf::Symbol &so = ov_.sym(o), &sp = pv_.sym(p);
  if (so.size != sp.size)
    return make_difference(DifferenceKind::Size, 0, fmt::format("{} bytes", so.size), fmt::format("{} bytes", sp.size),
                      "object size differs");
  // An entry of a table of objects (a __dyndbg descriptor) whose line field is all that
  // differs: the pr_debug() moved, nothing else. Its users are unchanged; when they are
  // patched for another reason they carry the new descriptor anyway.
  const SpecialSection *table = pv_.find_special(pv_.sec(*sp.section).name);
  if (table && table->policy == SpecialPolicy::Objects && table->line_field &&
      table->line_field->applies(sp.size) && sp.size == ctx_.entry_sizes[table->name].size) {
    const LineField &f = *table->line_field;
    if (same_region(*so.section, so.value, *sp.section, sp.value, so.size, ignored_line(f))) {
      u64 la = line_value(ov_, *so.section, so.value, f), lb = line_value(pv_, *sp.section, sp.value, f);
      if (la != lb)
        entry_lines_.push_back(fmt::format("+0x{:x}: {} lineno {} -> {}", f.offset, table->name, la, lb));
      return std::nullopt;
    }
  }
  if (!same_region(*so.section, so.value, *sp.section, sp.value, so.size)) {
    // Find the first differing byte or relocation for the report.
    u64 at = 0;
    for (; at < so.size; at++)
      if (!same_region(*so.section, so.value + at, *sp.section, sp.value + at, 1))
        break;
    return make_difference(DifferenceKind::Data, at, "", "", fmt::format("contents differ at +0x{:x}", at));
  }
  return std::nullopt;
}

void Comparer::run() {
  std::set<std::string> bad;
  for (const auto &[name, b] : ctx_.bad_special)
    bad.insert(name);
  ctx_.oidx = std::make_unique<SpecialIndex>(ov_, ctx_.entry_sizes, bad);
  ctx_.pidx = std::make_unique<SpecialIndex>(pv_, ctx_.entry_sizes, bad);
  ctx_.ochunks = std::make_unique<CodeChunks>(ov_, ctx_.entry_sizes, bad);
  ctx_.pchunks = std::make_unique<CodeChunks>(pv_, ctx_.entry_sizes, bad);
  for (SymbolId p : pv_.obj().symbols.ids()) {
    if (!comparable(pv_, p))
      continue;
    SymbolChange c;
    auto o = ctx_.corr.p2o.get(p);
    if (!o) {
      c.status = Status::New;
    } else {
      SymRole role = pv_.facts(p).role;
      entry_lines_.clear();
      std::optional<Difference> d =
          role == SymRole::Object ? compare_object(*o, p) : compare_function(*o, p);
      // Kept while the function may still turn out to be line-only (no difference, or only
      // immediates that ignore_line_only_changes() will judge); reported only for Same.
      if (!entry_lines_.empty() && (!d || d->kind == DifferenceKind::Immediate))
        c.line_only = entry_lines_;
      if (d) {
        // Code differences are what classify explains with DWARF (and line_only judges
        // immediates with it): start reading it now, on the other core (see DiffContext).
        if (ctx_.patched_has_debug_info && (d->kind == DifferenceKind::Instruction ||
                                            d->kind == DifferenceKind::Relocation || d->kind == DifferenceKind::Immediate))
          ctx_.prefetch_debug_info(true);
        c.status = Status::Changed;
        c.diff = std::make_shared<const Difference>(std::move(*d));
      }
    }
    ctx_.changes.patched.set(p, std::move(c));
  }
  for (SymbolId o : ov_.obj().symbols.ids())
    if (comparable(ov_, o) && !ctx_.corr.o2p.has(o))
      ctx_.changes.removed.push_back(o);
  // Tables whose entries cannot be told apart are compared whole (with their auxiliary
  // section): if they are the same, no function's entries changed in them.
  for (auto &[name, b] : ctx_.bad_special) {
    const SpecialSection *spec = pv_.find_special(name);
    b.differs = !same_section(name) || (spec && !spec->aux_section.empty() && !same_section(spec->aux_section));
  }
}

// The section called `name` is in both objects and the same (bytes, relocations by target).
bool Comparer::same_section(const std::string &name) const {
  auto os = ov_.find_section(name), ps = pv_.find_section(name);
  if (!os || !ps)
    return !os && !ps;
  u64 size = ov_.sec(*os).size;
  return size == pv_.sec(*ps).size && same_region(*os, 0, *ps, 0, size);
}

} // namespace

void compare(DiffContext &ctx) { Comparer(ctx).run(); }

} // namespace kpg::diff
