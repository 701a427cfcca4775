#!/bin/bash
# A patch that exports a new symbol is refused with NEW_EXPORT: a live patch cannot add to
# the kernel's exports (the patch module would export it under its own name, only while
# loaded, and no module built against the running kernel knows it). The message names the
# symbol and the way out (call it without exporting it).
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "export.h"
int kpg_user(int x) { return x + 1; }
EXPORT_SYMBOL(kpg_user);
C
cat > "$t/patched.c" <<'C'
#include "export.h"
__attribute__((noinline)) int kpg_helper(int x) { return x * 5; }
EXPORT_SYMBOL_GPL(kpg_helper);
int kpg_user(int x) { return kpg_helper(x) + 1; }
EXPORT_SYMBOL(kpg_user);
C
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = NEW_EXPORT ]
[ "$(jqr '.refusals[0].location.symbol')" = kpg_helper ]
jqr '.refusals[0].message' | has 'EXPORT_SYMBOL_GPL(kpg_helper) is new: a live patch cannot add to the kernel'"'"'s exported symbols'
[ ! -e "$t/out.o" ]
# The same helper without the export: a new global function, accepted.
sed '/EXPORT_SYMBOL_GPL(kpg_helper)/d' "$t/patched.c" > "$t/patched2.c"
kcc_pair "$t/orig.c" "$t/patched2.c" -I"$KHEADERS"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
