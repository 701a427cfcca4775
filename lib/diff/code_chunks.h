// SPDX-License-Identifier: GPL-2.0-only
//
// Out-of-line code that belongs to a function but has no symbol of its own: the chunks an
// `asm` block pushes into another section and that its function jumps to (or that a table
// entry names), e.g.
//   - `.fixup` (kernels before 5.17): `3: mov $-EFAULT,%eax; jmp 2b`, named by the fixup
//     field of the __ex_table entry of the faulting instruction;
//   - `.text..refcount` (4.x REFCOUNT_FULL=n): `111: lea %[var],%rcx; 112: ud2`, reached by
//     `js 111f` from the function;
//   - `.text.unlikely.<fn>` from compilers that split cold code without a `.cold` symbol.
// Such a chunk follows its function into the output (include.cc) and is compared by its own
// contents, not as part of the whole section (compare.cc): one function's fixup changing must
// not change every function with a fixup.
//
// A section holds such chunks when part of it is covered by no function. Chunks start where
// something outside the section points into it -- code, or a table field that is not the
// entry's owner field (the owner field says which instruction an entry describes: an ORC or
// ex_table entry for the `ud2` inside a refcount chunk is not a way in) -- and end where the
// next one starts or a function begins; a chunk whose last instruction falls through is
// merged with the next one, so that it is never copied without the code it runs into.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "diff/object_view.h"
#include "diff/special_sections.h"

namespace kpg::diff {

class CodeChunks {
public:
  // `bad_tables`: special sections whose entry size does not fit (their owner fields are
  // unknown, so their relocations are not used as entry points).
  CodeChunks(const ObjectView &v, const std::map<std::string, EntrySize> &sizes,
             const std::set<std::string> &bad_tables);
  // The chunk [start, end) of out-of-line code of `sec` that contains `off`.
  std::optional<std::pair<u64, u64>> chunk_at(SectionId sec, i64 off) const;
  bool empty() const { return chunks_.empty(); }

private:
  std::map<u32, std::vector<std::pair<u64, u64>>> chunks_; // by section index, sorted
};

} // namespace kpg::diff
