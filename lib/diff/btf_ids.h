// SPDX-License-Identifier: GPL-2.0-only
//
// .BTF_ids as the diff sees it (include/linux/btf_ids.h, 6.1).
//
//     BTF_ID_LIST_SINGLE(htab_map_btf_ids, struct, bpf_htab)
//
// assembles to a list label and one 4-byte word per id, each an object named after the type,
// __COUNTER__ and __LINE__:
//
//     .BTF_ids:  htab_map_btf_ids:                      (local NOTYPE label)
//                __BTF_ID__struct__bpf_htab__5532233:   .zero 4   (local OBJECT, size 4)
//
// BTF_SET_START(name) adds a count word (label __BTF_ID__set__name at the same place as
// `name`), BTF_SET8_START(name) (kfunc sets) an 8-byte header and a flags word after each id.
// resolve_btfids writes the ids when vmlinux (or a module) is linked, so only the running
// kernel's words are right: a patch module's own .BTF_ids would hold zeros, or ids resolved
// against the module's split BTF. References from patched code and data therefore become
// livepatch relocations to the running kernel's list label, which keeps its name across
// builds (the words' names change with any line shift above them): `&htab_map_btf_ids[0]`
// in a copied ops table is `.klp.sym.vmlinux.htab_map_btf_ids,0 + 0`.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "diff/object_view.h"

namespace kpg::diff {

inline constexpr const char *BTF_IDS_SECTION = ".BTF_ids";

// Where a relocation target lies in .BTF_ids, named the way the running kernel can resolve.
struct BtfIdsPlace {
  SymbolId list{0}; // the list label at or before the place (htab_map_btf_ids)
  u64 offset = 0;   // from the label to the place
};

// Does `t` point into .BTF_ids? (A word's object, or the section at a place no object covers:
// a set's count word.)
bool in_btf_ids(const ObjectView &v, const Target &t);
// The list that `t` (in .BTF_ids) points into: the closest list label at or before it.
// nullopt when no list label precedes the place.
std::optional<BtfIdsPlace> btf_ids_place(const ObjectView &v, const Target &t);

// One BTF id list of an object: its label and its words in order, each the decoded name of
// the id's object ("__BTF_ID__struct__bpf_htab__") or, for words no id covers (set counts,
// kfunc flags, BTF_ID_UNUSED), their value as it is before resolve_btfids runs.
struct BtfIdsList {
  SymbolId label{0};
  std::string name;
  bool kfunc_set = false; // BTF_SET8_START: __BTF_ID__set8__<name> is at the label
  std::vector<std::string> words;
};
std::vector<BtfIdsList> btf_ids_lists(const ObjectView &v);

// "struct bpf_htab" for "__BTF_ID__struct__bpf_htab__" (messages).
std::string btf_id_display(const std::string &word);

} // namespace kpg::diff
