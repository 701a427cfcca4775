#!/bin/bash
# KPATCH_FORCE_UNSAFE(fn) (kpatch-macros.h) has no meaning under the kernel's livepatch
# consistency model: refused with FORCE_UNSAFE, naming the macro and the function.
. "$(dirname "$0")/kpatch-common.sh"
cat > "$t/orig.c" <<'C'
#include "kpatch-macros.h"
int loop_body(int x) { return x + 1; }
C
cat > "$t/patched.c" <<'C'
#include "kpatch-macros.h"
int loop_body(int x) { return x + 2; }
KPATCH_FORCE_UNSAFE(loop_body);
C
kpatch_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = FORCE_UNSAFE ]
jqr '.refusals[].message' | has '^KPATCH_FORCE_UNSAFE(loop_body): .*consistency model'
[ ! -e "$t/out.o" ]
