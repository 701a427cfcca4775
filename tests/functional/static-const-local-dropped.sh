#!/bin/bash
# A patched function that stops using its `static const` table (or a switch table gcc made
# for it) loses no state: accepted, where a writable static local gives
# STATIC_LOCAL_REF_REMOVED (static-local-removed.sh).
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
int weight(int x) { static const int w[] = {3, 5, 7, 11, 13}; return w[x % 5]; }
C
cat > "$t/patched.c" <<'C'
int weight(int x) { return 3 + 2 * (x % 5); }
C
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
readelf -sW "$t/orig.o" | awk '{print $8}' | has '^w\.[0-9]*$'
[ -z "$(readelf -sW "$t/patched.o" | awk '{print $8}' | grep '^w\.')" ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = weight ]
[ "$(jqr '.refusals | length')" = 0 ]
[ -z "$(klp_syms)" ]
