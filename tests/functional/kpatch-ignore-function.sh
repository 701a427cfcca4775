#!/bin/bash
# KPATCH_IGNORE_FUNCTION(fn) (kpatch-macros.h): fn's change is not patched, with a note saying
# the author asked for it; the other changed function still is.
. "$(dirname "$0")/kpatch-common.sh"
cat > "$t/orig.c" <<'C'
#include "kpatch-macros.h"
int a(int x) { return x + 1; }
int b(int x) { return x * 3; }
C
cat > "$t/patched.c" <<'C'
#include "kpatch-macros.h"
int a(int x) { return x + 2; }
int b(int x) { return x * 5; }
KPATCH_IGNORE_FUNCTION(b);
C
kpatch_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = a ]
not out_sym __kpg_new.vmlinux.b.0
jqr '.notes[]' | has 'KPATCH_IGNORE_FUNCTION(b): the change to b is ignored'
readelf -SW "$t/out.o" | not grep -q 'kpatch_gen.ignore'
# Ignoring the only change leaves nothing to patch.
sed -i 's/return x + 2/return x + 1/' "$t/patched.c"
kpatch_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 3
