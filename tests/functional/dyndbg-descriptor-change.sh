#!/bin/bash
# A descriptor that changed beyond its line -- `#define DEBUG` above a pr_debug() makes its
# default flags _DPRINTK_FLAGS_PRINT -- changes the function that uses it (reported as a
# special-entry difference naming the descriptor), which then carries the new descriptor. It
# is not refused as a changed initial value (DATA_INIT_CHANGED): descriptors go with their
# functions.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "dyndbg.h"
int dd_a(int x) { pr_debug("dd_a %d\n", x); return x + 1; }
C
cat > "$t/patched.c" <<'C'
#define DEBUG
#include "dyndbg.h"
int dd_a(int x) { pr_debug("dd_a %d\n", x); return x + 1; }
C
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
# Premise: dd_a's code is the same; only the descriptor's flags byte (+35) differs.
cmp <(objdump -d --section=.text.dd_a "$t/orig.o" | tail -n +6) <(objdump -d --section=.text.dd_a "$t/patched.o" | tail -n +6)
[ "$(sec_bytes __dyndbg 35 1 "$t/orig.o") $(sec_bytes __dyndbg 35 1 "$t/patched.o")" = "00 01" ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = dd_a ]
[ "$(jqr '.changed[] | select(.name == "dd_a") | .reason.kind')" = special-entry ]
jqr '.changed[] | select(.name == "dd_a") | .reason.detail' | has 'its __dyndbg entry __UNIQUE_ID_ddebug[0-9.]* changed'
[ "$(jqr '.refusals | length')" = 0 ]
[ "$(sec_bytes __dyndbg 35 1)" = 01 ]
