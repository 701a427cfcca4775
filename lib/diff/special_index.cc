// SPDX-License-Identifier: GPL-2.0-only
#include "diff/special_index.h"

#include <algorithm>

namespace kpg::diff {

std::vector<LabelledEntry> labelled_entries(const ObjectView &v, const SpecialSection &spec, SectionId sec) {
  std::vector<LabelledEntry> out;
  for (SymbolId id : v.obj().symbols.ids()) {
    const elf::Symbol &s = v.sym(id);
    if (s.section == sec && !s.is_section() && s.name.starts_with(spec.entry_label))
      out.push_back(LabelledEntry{s.value, 0, id});
  }
  std::ranges::stable_sort(out, {}, &LabelledEntry::start);
  auto dup = std::ranges::unique(out, {}, &LabelledEntry::start);
  out.erase(dup.begin(), dup.end());
  for (size_t i = 0; i < out.size(); i++)
    out[i].end = i + 1 < out.size() ? out[i + 1].start : v.sec(sec).size;
  return out;
}

void SpecialIndex::add_entry(const ObjectView &v, EntryRef e, std::optional<u64> owner_reloc_at) {
  if (owner_reloc_at) {
    for (const elf::Reloc &r : v.relocs_in(e.sec, *owner_reloc_at, *owner_reloc_at + 1)) {
      e.owner_target = v.resolve(e.sec, r);
      if (e.owner_target.kind == Target::Kind::Symbol) {
        SymRole role = v.facts(e.owner_target.sym).role;
        if (role == SymRole::Function || role == SymRole::ColdPart) {
          e.owner = e.owner_target.sym;
          e.owner_off = e.owner_target.offset;
        }
      }
      break;
    }
  }
  by_section_[e.spec->name].push_back(e);
  if (e.owner)
    owned_.push_back(e);
}

// Entries between labels: the owner is the entry's one relocation (validate_one checked
// there is exactly one).
void SpecialIndex::add_labelled_section(const ObjectView &v, const SpecialSection &spec, SectionId sid) {
  for (const LabelledEntry &le : labelled_entries(v, spec, sid)) {
    EntryRef e;
    e.spec = &spec;
    e.sec = sid;
    e.offset = le.start;
    e.entsize = le.end - le.start;
    auto rr = v.relocs_in(sid, le.start, le.end);
    add_entry(v, e, rr.empty() ? std::nullopt : std::optional<u64>(rr.front().offset));
  }
}

void SpecialIndex::add_section(const ObjectView &v, const SpecialSection &spec, SectionId sid, u64 entsize) {
  const elf::Section &s = v.sec(sid);
  if (entsize == 0 || s.size % entsize)
    return; // validate_special_sections() refused it already
  auto &list = by_section_[spec.name];
  // Sized up front: __mcount_loc alone has an entry per function, and a doubling vector of
  // 80-byte entries leaves up to half of it unused. (Only for a row's first section: exact
  // reserves for each of the thousand ___ksymtab+* sections of a prefix row would copy the
  // list each time.)
  if (list.empty())
    list.reserve(s.size / entsize);
  auto relocs = v.relocs_of(sid);
  size_t ri = 0;
  for (u64 off = 0; off < s.size; off += entsize) {
    EntryRef e;
    e.spec = &spec;
    e.sec = sid;
    e.offset = off;
    e.entsize = entsize;
    u64 want = off + spec.owner_offset;
    while (ri < relocs.size() && relocs[ri].offset < want)
      ri++;
    if (ri < relocs.size() && relocs[ri].offset == want) {
      e.owner_target = v.resolve(sid, relocs[ri]);
      if (e.owner_target.kind == Target::Kind::Symbol) {
        SymRole r = v.facts(e.owner_target.sym).role;
        if (r == SymRole::Function || r == SymRole::ColdPart) {
          e.owner = e.owner_target.sym;
          e.owner_off = e.owner_target.offset;
        }
      }
    }
    list.push_back(e);
    if (e.owner)
      owned_.push_back(e);
  }
}

SpecialIndex::SpecialIndex(const ObjectView &v, const std::map<std::string, EntrySize> &sizes,
                           const std::set<std::string> &skip) {
  const auto &table = v.table();
  for (const SpecialSection &spec : table) {
    if (!spec.has_owner)
      continue; // entries that point at nothing (.BTF_ids words) belong to no code
    if (skip.count(spec.name))
      continue; // a table whose entry size does not fit: judge_bad_table()
    if (!spec.entry_label.empty()) {
      for (SectionId sid : v.special_sections(spec))
        add_labelled_section(v, spec, sid);
      continue;
    }
    auto it = sizes.find(spec.name);
    u64 entsize = it == sizes.end() ? spec.default_entry_size : it->second.size;
    // A prefix row ("___ksymtab+*") has many sections; entries_in() lists all of them.
    for (SectionId sid : v.special_sections(spec))
      add_section(v, spec, sid, entsize);
  }
  // By owner; for one owner table order is already the outer order (entries were appended
  // per table row), and inside a row, order by position in the function so that a reordered
  // table is not a change.
  std::stable_sort(owned_.begin(), owned_.end(), [&](const EntryRef &a, const EntryRef &b) {
    if (*a.owner != *b.owner)
      return to_index(*a.owner) < to_index(*b.owner);
    if (a.spec != b.spec)
      return a.spec < b.spec; // same vector `table`: pointer order is table order
    return a.owner_off < b.owner_off;
  });
  owner_start_.assign(v.obj().symbols.size() + 1, 0);
  for (const EntryRef &e : owned_)
    owner_start_[to_index(*e.owner) + 1]++;
  for (size_t i = 1; i < owner_start_.size(); i++)
    owner_start_[i] += owner_start_[i - 1];
}

std::span<const EntryRef> SpecialIndex::entries_of(SymbolId func) const {
  size_t i = to_index(func);
  if (i + 1 >= owner_start_.size())
    return {};
  return std::span<const EntryRef>(owned_).subspan(owner_start_[i], owner_start_[i + 1] - owner_start_[i]);
}

const std::vector<EntryRef> &SpecialIndex::entries_in(const std::string &section) const {
  static const std::vector<EntryRef> none;
  auto it = by_section_.find(section);
  return it == by_section_.end() ? none : it->second;
}

} // namespace kpg::diff
