#!/bin/bash
# A BTF id list whose ids change (here: a new BTF_ID() in a list the patched code indexes)
# cannot be live patched: the running kernel's list was filled in by resolve_btfids when
# vmlinux was linked. Refused with BTF_IDS_CHANGED, naming the list and the first difference.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "btf_ids.h"
BTF_ID_LIST(kpg_ids)
BTF_ID(struct, kpg_a)
BTF_ID(struct, kpg_b)
u32 kpg_last_id(void) { return kpg_ids[1]; }
C
cat > "$t/patched.c" <<'C'
#include "btf_ids.h"
BTF_ID_LIST(kpg_ids)
BTF_ID(struct, kpg_a)
BTF_ID(struct, kpg_c)
BTF_ID(struct, kpg_b)
u32 kpg_last_id(void) { return kpg_ids[2]; }
C
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = BTF_IDS_CHANGED ]
[ "$(jqr '.refusals[0].location.symbol')" = kpg_ids ]
jqr '.refusals[0].message' | has 'BTF id list kpg_ids changed at word 1: struct kpg_b -> struct kpg_c'
[ ! -e "$t/out.o" ]
# An id removed from the list (the function used it): still only BTF_IDS_CHANGED -- a BTF id
# word is no function-scope static whose state the patch would lose.
cat > "$t/patched.c" <<'C'
#include "btf_ids.h"
BTF_ID_LIST(kpg_ids)
BTF_ID(struct, kpg_a)
u32 kpg_last_id(void) { return kpg_ids[0]; }
C
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = BTF_IDS_CHANGED ]
jqr '.refusals[0].message' | has 'BTF id list kpg_ids has 1 words instead of 2'
