#!/bin/bash
# 6.12: a patch that adds an entry to .export_symbol (a new EXPORT_SYMBOL_GPL) is refused
# with NEW_EXPORT, as a new ___ksymtab+NAME section is on 6.1; the same helper without the
# export is accepted.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "export-6.12.h"
int kpg_user(int x) { return x + 1; }
EXPORT_SYMBOL(kpg_user);
C
cat > "$t/patched.c" <<'C'
#include "export-6.12.h"
__attribute__((noinline)) int kpg_helper(int x) { return x * 5; }
EXPORT_SYMBOL_GPL(kpg_helper);
int kpg_user(int x) { return kpg_helper(x) + 1; }
EXPORT_SYMBOL(kpg_user);
C
# shellcheck disable=SC2086
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS" $K612
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = NEW_EXPORT ]
[ "$(jqr '.refusals[0].location.symbol')" = kpg_helper ]
jqr '.refusals[0].message' | has 'EXPORT_SYMBOL_GPL(kpg_helper) is new'
[ ! -e "$t/out.o" ]
sed '/EXPORT_SYMBOL_GPL(kpg_helper)/d' "$t/patched.c" > "$t/patched2.c"
# shellcheck disable=SC2086
kcc_pair "$t/orig.c" "$t/patched2.c" -I"$KHEADERS" $K612
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
