// SPDX-License-Identifier: GPL-2.0-only
//
// The entries of one object's special sections, grouped by the code they belong to.
// Built after validate_special_sections(), so every entry has its owner relocation.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "diff/object_view.h"
#include "diff/special_sections.h"

namespace kpg::diff {

struct EntryRef {
  const SpecialSection *spec = nullptr;
  SectionId sec{0};     // the special section
  u64 offset = 0;       // entry offset in it
  u64 entsize = 0;
  Target owner_target;  // what the owner field points at
  std::optional<SymbolId> owner; // function or cold part containing owner_target, if any
  i64 owner_off = 0;    // offset of the owner field's target inside `owner`
};

// The entries of a section whose entries differ in size (SpecialSection::entry_label: 6.12's
// .export_symbol), as [start, end) offsets in label order: each starts at a local label named
// with the prefix and ends at the next one (the last at the section's end). Labels at the same
// offset count once.
struct LabelledEntry {
  u64 start = 0, end = 0;
  std::optional<SymbolId> label;
};
std::vector<LabelledEntry> labelled_entries(const ObjectView &v, const SpecialSection &spec, SectionId sec);

class SpecialIndex {
public:
  // Tables named in `skip` (whose entry size does not fit: validate_special_sections) are
  // left out: their entries cannot be told apart.
  SpecialIndex(const ObjectView &v, const std::map<std::string, EntrySize> &sizes,
               const std::set<std::string> &skip = {});
  // Entries whose owner is `func`, in table order, then by position in the function.
  std::span<const EntryRef> entries_of(SymbolId func) const;
  // All entries of one row of the table (by its name: "__bug_table", "___ksymtab+*"), in
  // section order.
  const std::vector<EntryRef> &entries_in(const std::string &section) const;

private:
  void add_section(const ObjectView &v, const SpecialSection &spec, SectionId sid, u64 entsize);
  void add_labelled_section(const ObjectView &v, const SpecialSection &spec, SectionId sid);
  void add_entry(const ObjectView &v, EntryRef e, std::optional<u64> owner_reloc_at);
  // Entries with an owner, grouped by owner: those of symbol i are owned_[owner_start_[i],
  // owner_start_[i + 1]). One array, not a vector per symbol: every function has an
  // __mcount_loc entry, and 30,000 small vectors per object were 2.5 MB.
  std::vector<EntryRef> owned_;
  std::vector<u32> owner_start_;
  std::map<std::string, std::vector<EntryRef>> by_section_;
};

} // namespace kpg::diff
