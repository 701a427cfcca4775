#!/bin/bash
# Command-line mistakes exit 2 (usage), distinct from 1 (refused) and 3 (no change): a missing
# output, a malformed --entry-size, a nonexistent input.
. "$(dirname "$0")/common.sh"
cat > "$t/a.c" <<'C'
int f(int x) { return x + 1; }
C
kcc "$t/a.c" "$t/a.o"
r=0; "$KPATCH_GEN" diff "$t/a.o" "$t/a.o" 2> "$t/err1" || r=$?
[ "$r" = 2 ]
grep -qi 'output' "$t/err1"
r=0; "$KPATCH_GEN" diff "$t/a.o" "$t/a.o" -o "$t/out.o" --entry-size __bug_table 2> "$t/err2" || r=$?
[ "$r" = 2 ]
grep -q 'SECTION=BYTES' "$t/err2"
r=0; "$KPATCH_GEN" diff "$t/a.o" "$t/a.o" -o "$t/out.o" --entry-size __bug_table=zero 2> "$t/err3" || r=$?
[ "$r" = 2 ]
r=0; "$KPATCH_GEN" diff "$t/a.o" "$t/missing.o" -o "$t/out.o" 2> "$t/err4" || r=$?
[ "$r" = 2 ]
grep -q 'missing.o' "$t/err4"
r=0; "$KPATCH_GEN" diff "$t/a.o" "$t/a.o" -o "$t/out.o" --no-such-option 2> "$t/err5" || r=$?
[ "$r" = 2 ]
[ ! -e "$t/out.o" ]
