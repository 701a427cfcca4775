#!/bin/bash
# A change to __init code (.init.text, shared by all init functions of the unit) cannot be
# live-patched: it ran at boot and is freed. Refused with INIT_CHANGED naming the function that
# changed (not its unchanged neighbour in the same section), with a hint to use a callback.
# A changed __init data initializer is refused the same way.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define __init __attribute__((section(".init.text"), cold, no_instrument_function))
#define __initdata __attribute__((section(".init.data")))
static int __init setup_a(void) { printk("setup a\n"); return 0; }
static int __init setup_b(void) { printk("setup b\n"); return 0; }
int (*initcalls[2])(void) __initdata = { setup_a, setup_b };
int boot_limit __initdata = 16;
int runtime(int x) { return x + 2; }
C
sed 's/"setup b\\n"/"setup b v2\\n"/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
# Both functions share .init.text.
[ "$(readelf -sW "$t/orig.o" | awk '$4 == "FUNC" && $8 ~ /^setup_/ {print $7}' | uniq | wc -l)" = 1 ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(jqr .result)" = refused ]
[ "$(refusal_codes)" = INIT_CHANGED ]
[ "$(jqr '.refusals[0].location.symbol')" = setup_b ]
[ "$(jqr '.refusals[0].location.section')" = .init.text ]
jqr '.refusals[0].message' | has 'callback'
[ ! -e "$t/out.o" ]
# __initdata whose initializer changed.
sed 's/boot_limit __initdata = 16/boot_limit __initdata = 32/' "$t/orig.c" > "$t/data.c"
kcc "$t/data.c" "$t/data.o"
kdiff "$t/orig.o" "$t/data.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = INIT_CHANGED ]
[ "$(jqr '.refusals[0].location.symbol')" = boot_limit ]
jqr '.refusals[0].message' | has '__init data'
