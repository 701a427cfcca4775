#!/bin/bash
# An __init function that also calls the changed notrace function ran at boot and its code is
# gone: in vmlinux there is nothing to patch (noted, the traceable callers are patched). In a
# module, __init code runs at every load of the module, with the old function: refused.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define notrace __attribute__((no_instrument_function))
#define __init __attribute__((section(".init.text")))
static notrace __attribute__((noinline)) int scale(int x) { return x * 3; }
int use_a(int x) { return scale(x) + 1; }
__init int setup_scale(void) { int r = scale(4); printk("scale %d\n", r); return r; }
C
sed 's/return x \* 3;/return x * 4;/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = use_a ]
jqr '.notrace_callers[0].why' | has 'setup_scale (__init, section .init.text) also calls scale: it ran at boot and is gone'
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o" --objname kpg_test
expect_rc 1
[ "$(refusal_codes)" = NO_FENTRY ]
jqr '.refusals[0].message' | has 'the __init function setup_scale of module kpg_test calls scale: it runs at every load of the module'
