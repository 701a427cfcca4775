#!/bin/bash
# An existing object whose size changes (an array grew, a struct gained a field) cannot be
# replaced: every user in the running kernel keeps the old layout. Refused with
# OBJECT_SIZE_CHANGED giving both sizes and pointing at shadow variables; no output.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
struct stats { long packets, bytes; };
static struct stats rx_stats;
static int table[4] = { 1, 2, 3, 4 };
long account(int len) { rx_stats.packets++; rx_stats.bytes += len; return table[len & 3]; }
void reset(int v) { table[0] = v; }
C
sed -e 's/long packets, bytes;/long packets, bytes, drops;/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = OBJECT_SIZE_CHANGED ]
[ "$(jqr '.refusals[0].location.symbol')" = rx_stats ]
jqr '.refusals[0].message' | has 'size of rx_stats changed from 16 bytes to 24 bytes'
jqr '.refusals[0].message' | has 'shadow variable'
[ ! -e "$t/out.o" ]
# An initialized array that grew: a size change, not an initializer change.
sed 's/table\[4\] = { 1, 2, 3, 4 }/table[5] = { 1, 2, 3, 4, 5 }/' "$t/orig.c" > "$t/array.c"
kcc "$t/array.c" "$t/array.o"
kdiff "$t/orig.o" "$t/array.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = OBJECT_SIZE_CHANGED ]
[ "$(jqr '.refusals[0].location.symbol')" = table ]
