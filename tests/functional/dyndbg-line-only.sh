#!/bin/bash
# A blank line at the top of a file with pr_debug() sites (CONFIG_DYNAMIC_DEBUG): every
# struct _ddebug in __dyndbg has another `lineno` (an 18-bit field at +32, next to class_id
# and flags), and nothing else changed. Descriptors are compared with that field masked and
# listed as line-only; the result is "no functional change" (exit 3), not DATA_INIT_CHANGED.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "dyndbg.h"
int dd_a(int x) { pr_debug("dd_a %d\n", x); return x + 1; }
int dd_b(int x) { pr_debug("dd_b %d\n", x); pr_debug("dd_b again %d\n", x); return x + 2; }
C
{ echo; cat "$t/orig.c"; } > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
# Premise: three 56-byte descriptors, and their line numbers moved.
[ "$(sec_size __dyndbg "$t/patched.o")" = 168 ]
not cmp -s <(sec_bytes __dyndbg 0 168 "$t/orig.o") <(sec_bytes __dyndbg 0 168 "$t/patched.o")
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 3
[ "$(jqr '.refusals | length')" = 0 ]
jqr '.line_only[] | select(.name | startswith("__UNIQUE_ID_ddebug")) | .detail' > "$t/lines"
cat "$t/lines"
[ "$(wc -l < "$t/lines")" = 3 ]
grep -q '__dyndbg lineno 2 -> 3' "$t/lines"
grep -q '__dyndbg lineno 3 -> 4' "$t/lines"
jqr '.notes[]' | has '__dyndbg: 3 entries paired by function and format and order'
