#!/bin/bash
# Kfunc sets (BTF_SET8_START ... BTF_ID_FLAGS ... BTF_SET8_END) are registered from an
# initcall (register_btf_kfunc_id_set()); a patch that adds a kfunc or changes its flags
# would never reach the verifier. Refused with BTF_IDS_CHANGED and a kfunc-specific message,
# even though no function changed.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "btf_ids.h"
struct btf_id_set8;
BTF_SET8_START(kpg_kfunc_ids)
BTF_ID_FLAGS(func, kpg_kfunc_a, 0)
BTF_ID_FLAGS(func, kpg_kfunc_b, 0)
BTF_SET8_END(kpg_kfunc_ids)
const void *kpg_kfunc_set(void) { return &kpg_kfunc_ids; }
C
sed 's/BTF_ID_FLAGS(func, kpg_kfunc_b, 0)/BTF_ID_FLAGS(func, kpg_kfunc_b, 4)/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = BTF_IDS_CHANGED ]
jqr '.refusals[0].message' | has 'kfunc set kpg_kfunc_ids changed at word 5: 0x0 -> 0x4'
jqr '.refusals[0].message' | has 'register_btf_kfunc_id_set()'
