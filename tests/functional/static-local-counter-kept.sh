#!/bin/bash
# A patched function that uses an existing static variable must use the running kernel's
# copy (a livepatch relocation), not a fresh zeroed one: the counter's state survives.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
int count_calls(void) { static int calls; calls++; printk("calls=%d\n", calls); return calls; }
C
sed 's/calls=%d/calls now %d/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
klp_syms | has '^calls\.[0-9]*$'
# The variable itself is not copied into the output.
included > "$t/inc"
not grep -q '^calls' "$t/inc"
