#!/bin/bash
# A patched runtime function that starts calling an existing __init function (or reading
# __initdata) would reach memory freed after boot through its livepatch relocation: refused
# with INIT_REFERENCED at the referencing site, naming the __init symbol.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define __init __attribute__((section(".init.text"), cold, no_instrument_function, noinline))
#define __initdata __attribute__((section(".init.data")))
static int boot_limit __initdata = 16;
static int __init setup_b(void) { printk("setup b %d\n", boot_limit); return 0; }
int (*initcall)(void) __initdata = setup_b;
int runtime(int x) { return x + 2; }
int runtime2(int x) { return x * 2; }
C
sed -e 's/x + 2;/x + 2 + setup_b();/' -e 's/x \* 2;/x * boot_limit;/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes | sort -u)" = INIT_REFERENCED ]
[ "$(jqr '.refusals | length')" = 2 ]
jqr '.refusals[] | "\(.location.section) \(.message)"' > "$t/msgs"
# Each refusal's location names the referring function, with the offset inside it.
[ "$(jqr '[.refusals[].location.symbol] | sort | join(" ")')" = "runtime runtime2" ]
jqr '.refusals[].location.symbol_offset' | has -Ex '[0-9]+'
grep -Eq '^\.text(\.unlikely)?\.runtime runtime refers to setup_b, which is __init \(section \.init\.text\)' "$t/msgs"
grep -q '^\.text\.runtime2 runtime2 refers to boot_limit, which is __init (section \.init\.data)' "$t/msgs"
[ ! -e "$t/out.o" ]
# __initdata the original did not have (gcc dropped the unused static) is refused too: its
# copy would sit in the livepatch module's own .init.data, freed after the module's init.
cat > "$t/orig2.c" <<'C'
#define __initdata __attribute__((section(".init.data")))
static int boot_limit __initdata = 16;
int runtime2(int x) { return x * 2; }
C
sed 's/x \* 2;/x * boot_limit;/' "$t/orig2.c" > "$t/patched2.c"
kcc "$t/orig2.c" "$t/orig2.o"
kcc "$t/patched2.c" "$t/patched2.o"
readelf -sW "$t/orig2.o" | not grep -q ' boot_limit$'
kdiff "$t/orig2.o" "$t/patched2.o" --target "$t/orig2.o"
expect_rc 1
[ "$(refusal_codes)" = INIT_REFERENCED ]
[ "$(jqr '.refusals[0].location.symbol')" = boot_limit ]
jqr '.refusals[0].message' | has '^new __init object boot_limit is referenced by runtime2'
