#!/bin/bash
# The patched function no longer uses its static local: the running kernel's value would be
# silently abandoned, so the diff refuses with STATIC_LOCAL_REF_REMOVED, naming the variable
# and the function, and writes no output.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
int count_calls(int x) { static int calls; calls++; printk("calls=%d\n", calls); return calls + x; }
int other(int x) { return x * 2; }
C
cat > "$t/patched.c" <<'C'
extern int printk(const char *fmt, ...);
int count_calls(int x) { printk("called\n"); return x; }
int other(int x) { return x * 2; }
C
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
var=$(readelf -sW "$t/orig.o" | awk '$4 == "OBJECT" && $8 ~ /^calls\./ {print $8}')
[ -n "$var" ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(jqr .result)" = refused ]
[ "$(refusal_codes)" = STATIC_LOCAL_REF_REMOVED ]
jqr '.refusals[0].message' | has "static local variable $var in count_calls was removed"
[ "$(jqr '.refusals[0].location.symbol')" = count_calls ]
[ ! -e "$t/out.o" ]
# The same change with the reference kept (read, not used for the result) is accepted.
cat > "$t/kept.c" <<'C'
extern int printk(const char *fmt, ...);
int count_calls(int x) { static int calls; calls++; printk("called %d\n", calls); return x; }
int other(int x) { return x * 2; }
C
kcc "$t/kept.c" "$t/kept.o"
kdiff "$t/orig.o" "$t/kept.o" --target "$t/orig.o"
expect_rc 0
[ "$(klp_syms | sort -u)" = "$var" ]
