#!/bin/bash
# An object compared with itself has no functional change: exit 3, nothing written.
. "$(dirname "$0")/common.sh"
cat > "$t/a.c" <<'C'
static int counter;
extern int printk(const char *fmt, ...);
static int helper(int x) { return x * 3 + counter; }
int entry(int x) { counter++; printk("x=%d\n", helper(x)); return helper(x + 1); }
C
kcc "$t/a.c" "$t/a.o"
kdiff "$t/a.o" "$t/a.o"
expect_rc 3
[ "$(jqr .result)" = no-change ]
[ ! -e "$t/out.o" ]
