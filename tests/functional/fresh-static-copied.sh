#!/bin/bash
# One-shot statics (printk_once()'s `__already_done` in .data.once, WARN_ONCE's `__warned`)
# are never correlated with the running kernel: the patched function gets a fresh copy
# (a message that was already printed once is printed again by the new code), carried in the
# output and referenced through a normal relocation. Their numbering and placement in the
# shared .data.once section do not make unchanged functions change.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define printk_once(fmt, ...) ({ static _Bool __attribute__((section(".data.once"))) __already_done; \
	if (!__already_done) { __already_done = 1; printk(fmt, ##__VA_ARGS__); } })
#define warn_once(cond) ({ static _Bool __attribute__((section(".data.once"))) __warned; int __c = !!(cond); \
	if (__c && !__warned) { __warned = 1; printk("warning at %s\n", __func__); } __c; })
/*NEW*/
int fa(int x) { printk_once("fa once\n"); return x + 1; }
int fb(int x) { printk_once("fb once %d\n", x); if (warn_once(x > 9)) return -1; return x + 2; }
int fc(int x) { printk_once("fc once\n"); return x + 3; }
C
sed 's/fb once %d/fb first time %d/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = fb ]
jqr '.included[] | select(.kind == "fresh static") | .symbol' | sed 's/\.[0-9]*$//' | sort > "$t/fresh"
printf '%s\n' __already_done __func__ __warned > "$t/want"
diff "$t/want" "$t/fresh"
[ "$(jqr '.relocations.klp | length')" = 0 ]
for v in $(jqr '.included[] | select(.kind == "fresh static") | .symbol' | grep -v __func__); do
	out_sym "$v"
	# The copies live in their own sections carved out of .data.once, and fb refers to them.
	sec=$(readelf -sW "$t/out.o" | awk -v v="$v" '$8 == v {print $7}')
	readelf -SW "$t/out.o" | has "\[ *$sec\] \.data\.once\.$v "
	out_relocs .text.fb | has " $v - "
done
# A new function with its own printk_once() before fa renumbers and moves every
# __already_done in .data.once; fa, fb and fc do not change.
sed 's|/\*NEW\*/|int pad(int x) { printk_once("pad\\n"); return x; }|' "$t/orig.c" > "$t/moved.c"
kcc "$t/moved.c" "$t/moved.o"
[ "$(readelf -sW "$t/moved.o" | grep -c ' __already_done\.')" = 4 ]
kdiff "$t/orig.o" "$t/moved.o" --target "$t/orig.o"
expect_rc 0
[ -z "$(changed)" ]
[ "$(jqr '.included[] | select(.kind == "new function") | .symbol')" = pad ]
