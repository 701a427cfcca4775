#!/bin/bash
# 6.12 puts printk_once()'s and WARN_ONCE()'s one-shot flags in .data..once (6.1: .data.once).
# They are handled alike: fresh copies carried for the changed function in sections of their
# own carved out of .data..once, referenced through normal relocations, and the unchanged
# functions that share the section do not change.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define printk_once(fmt, ...) ({ static _Bool __attribute__((section(".data..once"))) __already_done; \
	if (!__already_done) { __already_done = 1; printk(fmt, ##__VA_ARGS__); } })
#define warn_once(cond) ({ static _Bool __attribute__((section(".data..once"))) __warned; int __c = !!(cond); \
	if (__c && !__warned) { __warned = 1; printk("warning at %s\n", __func__); } __c; })
int fa(int x) { printk_once("fa once\n"); return x + 1; }
int fb(int x) { printk_once("fb once %d\n", x); if (warn_once(x > 9)) return -1; return x + 2; }
C
sed 's/fb once %d/fb first time %d/' "$t/orig.c" > "$t/patched.c"
# shellcheck disable=SC2086
kcc "$t/orig.c" "$t/orig.o" $K612
# shellcheck disable=SC2086
kcc "$t/patched.c" "$t/patched.o" $K612
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = fb ]
jqr '.included[] | select(.kind == "fresh static") | .symbol' | sed 's/\.[0-9]*$//' | sort > "$t/fresh"
printf '%s\n' __already_done __func__ __warned > "$t/want"
diff "$t/want" "$t/fresh"
[ "$(jqr '.relocations.klp | length')" = 0 ]
for v in $(jqr '.included[] | select(.kind == "fresh static") | .symbol' | grep -v __func__); do
	out_sym "$v"
	sec=$(readelf -sW "$t/out.o" | awk -v v="$v" '$8 == v {print $7}')
	readelf -SW "$t/out.o" | has "\[ *$sec\] \.data\.\.once\.$v "
	out_relocs .text.fb | has " $v - "
done
