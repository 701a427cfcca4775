#!/bin/bash
# Patched code that reads a BTF id list refers to the running kernel's list: a livepatch
# relocation against the list's label (its name is stable; the words' names are not), with
# the offset into the list in the addend. The patch's own .BTF_ids is not copied: its words
# are zeros until resolve_btfids runs, and would be resolved against the patch module's split
# BTF. The same goes for data the patch copies (a new ops table pointing into a list).
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "btf_ids.h"
struct kpg_ops { const u32 *ids; };
BTF_ID_LIST(kpg_ids)
BTF_ID(struct, kpg_a)
BTF_ID(struct, kpg_b)
u32 kpg_second_id(void) { return kpg_ids[1]; }
C
cat > "$t/patched.c" <<'C'
#include "btf_ids.h"
struct kpg_ops { const u32 *ids; };
BTF_ID_LIST(kpg_ids)
BTF_ID(struct, kpg_a)
BTF_ID(struct, kpg_b)
static const struct kpg_ops kpg_new_ops = { .ids = &kpg_ids[1] };
u32 kpg_second_id(void) { const u32 *p = *(const u32 *volatile *)&kpg_new_ops.ids; return kpg_ids[1] + *p; }
C
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = kpg_second_id ]
# Nothing of .BTF_ids in the output, and no __BTF_ID__ symbol.
[ -z "$(sec_size .BTF_ids)" ]
readelf -sW "$t/out.o" | not grep -q __BTF_ID__
# Every reference became a livepatch relocation to the list label kpg_ids.
jqr '.relocations.klp[] | "\(.section) \(.symbol) \(.object) \(.type) \(.addend)"' | sort > "$t/klp"
cat "$t/klp"
grep -qx '.text.kpg_second_id kpg_ids vmlinux R_X86_64_PC32 0' "$t/klp" # kpg_ids+4 - 4
grep -qx '.rodata.kpg_new_ops kpg_ids vmlinux R_X86_64_64 4' "$t/klp"
[ "$(awk '$2 != "kpg_ids"' "$t/klp" | wc -l)" = 0 ]
jqr '.special_sections[] | select(.section == ".BTF_ids") | .note' | has 'never copied'
