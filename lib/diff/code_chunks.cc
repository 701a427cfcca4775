// SPDX-License-Identifier: GPL-2.0-only
#include "diff/code_chunks.h"

#include <algorithm>

namespace kpg::diff {

// Can execution run off the end of this instruction into the next byte?
static bool falls_through(disasm::InsnKind k) {
  return k != disasm::InsnKind::Jump && k != disasm::InsnKind::Return && k != disasm::InsnKind::Trap;
}

CodeChunks::CodeChunks(const ObjectView &v, const std::map<std::string, EntrySize> &sizes,
                       const std::set<std::string> &bad_tables) {
  // Sections with code that no function covers.
  const u32 nsec = v.obj().sections.size();
  std::vector<bool> candidate(nsec, false);
  bool any = false;
  for (SectionId sid : v.obj().sections.ids()) {
    const elf::Section &s = v.sec(sid);
    if (!s.is_alloc() || !s.is_exec() || s.size == 0 || s.is_nobits() || is_ignored_section(s.name))
      continue;
    u64 covered = 0;
    for (SymbolId f : v.symbols_in(sid))
      if (v.facts(f).role == SymRole::Function || v.facts(f).role == SymRole::ColdPart)
        covered += v.sym(f).size;
    if (covered < s.size)
      candidate[to_index(sid)] = any = true;
  }
  if (!any)
    return;
  // Entry points: places in candidate sections that something outside them refers to.
  std::map<u32, std::vector<u64>> entries;
  for (SectionId site : v.obj().sections.ids()) {
    const elf::Section &ss = v.sec(site);
    if (ss.relocs.empty() || candidate[to_index(site)] || (is_ignored_section(ss.name) && !ss.is_alloc()))
      continue;
    const SpecialSection *spec = v.find_special(ss.name);
    if (spec && bad_tables.count(spec->name))
      continue;
    u64 entsize = 0;
    if (spec)
      if (auto it = sizes.find(spec->name); it != sizes.end())
        entsize = it->second.size;
    for (const elf::Reloc &r : v.relocs_of(site)) {
      const elf::Symbol &rs = v.sym(r.sym);
      if (!rs.section || !candidate[to_index(*rs.section)] ||
          !(rs.is_section() || v.facts(r.sym).role == SymRole::Label))
        continue;
      if (spec && entsize && r.offset % entsize == spec->owner_offset)
        continue; // an entry's owner field: describes an instruction, is no way in
      Target t = v.resolve(site, r);
      if (t.kind == Target::Kind::Anonymous && t.offset >= 0 && static_cast<u64>(t.offset) < v.sec(t.sec).size)
        entries[to_index(t.sec)].push_back(static_cast<u64>(t.offset));
    }
  }
  for (auto &[sec, offs] : entries) {
    SectionId sid{sec};
    std::sort(offs.begin(), offs.end());
    offs.erase(std::unique(offs.begin(), offs.end()), offs.end());
    // Function starts bound chunks too.
    std::vector<u64> starts;
    for (SymbolId f : v.symbols_in(sid))
      if (v.facts(f).role == SymRole::Function || v.facts(f).role == SymRole::ColdPart)
        starts.push_back(v.sym(f).value);
    std::vector<std::pair<u64, u64>> list;
    for (size_t k = 0; k < offs.size(); k++) {
      u64 end = k + 1 < offs.size() ? offs[k + 1] : v.sec(sid).size;
      auto f = std::upper_bound(starts.begin(), starts.end(), offs[k]);
      if (f != starts.end())
        end = std::min(end, *f);
      list.emplace_back(offs[k], end);
    }
    // A chunk whose last instruction falls through runs into the next chunk: one chunk.
    std::vector<std::pair<u64, u64>> merged;
    for (auto c : list) {
      if (!merged.empty() && merged.back().second == c.first) {
        const auto &insns = v.code(sid, merged.back().first, merged.back().second).insns;
        if (insns.empty() || falls_through(insns.back().kind)) {
          merged.back().second = c.second;
          continue;
        }
      }
      merged.push_back(c);
    }
    chunks_[sec] = std::move(merged);
  }
}

std::optional<std::pair<u64, u64>> CodeChunks::chunk_at(SectionId sec, i64 off) const {
  auto it = chunks_.find(to_index(sec));
  if (it == chunks_.end() || off < 0)
    return std::nullopt;
  const auto &v = it->second;
  auto c = std::upper_bound(v.begin(), v.end(), static_cast<u64>(off),
                            [](u64 o, const std::pair<u64, u64> &x) { return o < x.first; });
  if (c == v.begin())
    return std::nullopt;
  --c;
  if (static_cast<u64>(off) < c->second)
    return *c;
  return std::nullopt;
}

} // namespace kpg::diff
