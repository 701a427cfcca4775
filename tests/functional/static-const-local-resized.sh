#!/bin/bash
# A function-scope `static const` table that changes size is not OBJECT_SIZE_CHANGED: no
# running code depends on its layout except the function that owns it, which is patched and
# uses its own new copy. A writable static local that changes size is still refused: the
# running kernel's object keeps its size and its contents.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
int rate(int x) { static const unsigned char rates[] = {1, 2, 5, 10}; return rates[x % 4] * x; }
int histo(int x) { static int buckets[4]; return ++buckets[x % 4]; }
C
sed 's/{1, 2, 5, 10}; return rates\[x % 4\]/{1, 2, 5, 10, 20}; return rates[x % 5]/' "$t/orig.c" > "$t/grown.c"
grep -q 'x % 5' "$t/grown.c"
sed 's/buckets\[4\]; return ++buckets\[x % 4\]/buckets[5]; return ++buckets[x % 5]/' "$t/orig.c" > "$t/state.c"
grep -q 'buckets\[5\]' "$t/state.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/grown.c" "$t/grown.o"
kcc "$t/state.c" "$t/state.o"
kdiff "$t/orig.o" "$t/grown.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = rate ]
copy=$(jqr '.included[] | select(.kind == "read-only static local") | .symbol')
[[ "$copy" =~ ^rates\.[0-9]+$ ]]
[ "$(sec_size ".rodata.$copy")" = 5 ]
# The writable counterpart keeps its refusal.
kdiff "$t/orig.o" "$t/state.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = OBJECT_SIZE_CHANGED ]
jqr '.refusals[0].message' | has 'size of buckets\.[0-9]* changed from 16 bytes to 20 bytes'
