#!/bin/bash
# The same inputs give byte-identical output objects and reports, run after run (builds are
# compared and cached by content; hash-order iteration would make them differ). A unit with
# many changed, new and referenced symbols makes ordering bugs visible.
. "$(dirname "$0")/common.sh"
gen() { # gen VARIANT: 120 functions, each with a string, a static counter and calls
	local v=$1 i
	echo 'extern int printk(const char *fmt, ...);'
	for i in $(seq 0 119); do
		echo "static int st_$i;"
		echo "static __attribute__((noinline)) int f$i(int x) { st_$i++; printk(\"f$i %d\\n\", x); return x + $i; }"
	done
	for i in $(seq 0 119); do
		if [ "$v" = patched ] && [ $((i % 3)) = 0 ]; then
			echo "static __attribute__((noinline)) int n$i(int x) { printk(\"new $i\\n\"); return x - $i; }"
			echo "int g$i(int x) { printk(\"g$i changed\\n\"); return f$i(x) + f$(((i + 7) % 120))(x) + n$i(x) + st_$(((i + 11) % 120)); }"
		else
			echo "int g$i(int x) { printk(\"g$i\\n\"); return f$i(x) + f$(((i + 7) % 120))(x) + st_$(((i + 11) % 120)); }"
		fi
	done
}
gen orig > "$t/orig.c"
gen patched > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed | wc -l)" = 40 ]
[ "$(jqr '.relocations.klp | length')" -gt 80 ]
cp "$t/out.o" "$t/out1.o"
cp "$t/report.json" "$t/report1.json"
for run in 2 3; do
	kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
	expect_rc 0
	cmp "$t/out1.o" "$t/out.o"
	cmp "$t/report1.json" "$t/report.json"
done
# Copies of the inputs elsewhere: only the paths in the report differ.
mkdir -p "$t/elsewhere"
cp "$t/orig.o" "$t/patched.o" "$t/elsewhere/"
"$KPATCH_GEN" diff "$t/elsewhere/orig.o" "$t/elsewhere/patched.o" -o "$t/elsewhere/out.o" --target "$t/elsewhere/orig.o" -q
cmp "$t/out1.o" "$t/elsewhere/out.o"
