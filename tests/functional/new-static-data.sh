#!/bin/bash
# New static data used by a patched function (a new counter in .bss, a new initialized table
# in .data, a new const table in .rodata) is carried in the output with its initial value and
# referenced through normal relocations; existing data stays a livepatch relocation.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
static int existing = 3;
int poke(int x) { existing += x; return existing; }
C
cat > "$t/patched.c" <<'C'
static int existing = 3;
static unsigned long hits;
static int limits[4] = { 11, 22, 33, 44 };
static const char *const names[3] = { "zero", "one", "two" };
int poke(int x) {
	hits++;
	if (x < 0 || x > 3) return -22;
	existing += limits[x];
	return existing + names[x % 3][0];
}
C
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = poke ]
jqr '.included[] | select(.kind == "new object") | .symbol' | sort > "$t/newobj"
printf '%s\n' hits limits names > "$t/want"
diff "$t/want" "$t/newobj"
out_sym hits
out_sym limits
out_sym names
# The initializer of `limits` is carried: 11, 22, 33, 44 as little-endian ints.
sec=$(readelf -sW "$t/out.o" | awk '$8 == "limits" {print $7}')
readelf -x "$sec" "$t/out.o" | has '0b000000 16000000 21000000 2c000000'
# `names` points at string literals that came along.
strings -a -n 3 "$t/out.o" | has -x two
readelf -rW "$t/out.o" | grep -A4 "rela.rodata.names" | has 'R_X86_64_64'
# The existing variable is the running kernel's: a livepatch relocation, not a copy.
[ "$(klp_syms | sort -u)" = existing ]
not out_sym existing
