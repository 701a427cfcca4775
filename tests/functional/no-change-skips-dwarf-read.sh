#!/bin/bash
# A diff that finds no change never reads DWARF: the debug-only second read of the patched
# object starts at the first difference compare() finds (DiffContext::prefetch_debug_info),
# so with no difference each object is opened once. The changed case opens the patched
# object a second time, for classify's inlining explanation -- which shows the count can
# tell the two apart.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
static inline __attribute__((always_inline)) int scale(int x) { return x * 3; }
int entry(int x) { printk("x=%d\n", scale(x)); return x + 1; }
int other(int x) { return x - 1; }
C
sed 's/x \* 3/x * 5/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
cp "$t/orig.o" "$t/same.o"

# kpatch-gen under strace: every file it opens, in $t/trace.
real=$KPATCH_GEN
cat > "$t/traced" <<SH
#!/bin/sh
exec strace -f -qq -e trace=openat -o "$t/trace" "$real" "\$@"
SH
chmod +x "$t/traced"
opens() { grep -cF "\"$1\"" "$t/trace" || true; }

KPATCH_GEN=$t/traced kdiff "$t/orig.o" "$t/same.o"
expect_rc 3
[ "$(opens "$t/orig.o")" = 1 ]
[ "$(opens "$t/same.o")" = 1 ]

KPATCH_GEN=$t/traced kdiff "$t/orig.o" "$t/patched.o"
expect_rc 0
changed | has_line entry
[ "$(jqr '.changed[] | select(.name == "entry") | .reason.inlined_callee')" = scale ] # the DWARF read explained it
[ "$(opens "$t/orig.o")" = 1 ]
[ "$(opens "$t/patched.o")" = 2 ]
