#!/bin/bash
# BTF_ID() words in .BTF_ids are named __BTF_ID__<kind>__<name>__<__COUNTER__><__LINE__>, so
# a line inserted above renames them. A const ops table holding &list[0] (kernel/bpf/
# hashtab.c's htab_map_ops.map_btf_id = &htab_map_btf_ids[0]) must still compare equal: the
# words are paired by their name without that suffix (and their order). Exit 3.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "btf_ids.h"
struct kpg_map_ops { int (*alloc_check)(int); const u32 *map_btf_id; };
static int kpg_alloc_check(int x) { return x > 0 ? 0 : -22; }
BTF_ID_LIST_SINGLE(kpg_map_btf_ids, struct, kpg_htab)
BTF_ID_LIST(kpg_two_ids)
BTF_ID(struct, kpg_a)
BTF_ID(struct, kpg_a)
const struct kpg_map_ops kpg_map_ops = { .alloc_check = kpg_alloc_check, .map_btf_id = &kpg_map_btf_ids[0] };
const struct kpg_map_ops kpg_map2_ops = { .alloc_check = kpg_alloc_check, .map_btf_id = &kpg_two_ids[1] };
C
{ echo; cat "$t/orig.c"; } > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
# Premise: the words were renamed.
readelf -sW "$t/orig.o" | has '__BTF_ID__struct__kpg_htab__04$'
readelf -sW "$t/patched.o" | has '__BTF_ID__struct__kpg_htab__05$'
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 3
[ "$(jqr '.refusals | length')" = 0 ]
