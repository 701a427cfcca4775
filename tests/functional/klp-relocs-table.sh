#!/bin/bash
# The livepatch relocations travel in .kpatch_gen.klp_relocs (klp_format.h): 24-byte records
# { u64 place; u64 target; u32 type; u32 reserved; }, place = R_X86_64_64 against the site's
# section + site offset, target = R_X86_64_64 against the weak undefined
# .klp.sym.<obj>.<name>,<sympos> + the original addend, type = the original relocation type.
# The site itself is zero and has no ELF relocation. The object goes through `ld -r`, alone
# and together with another unit's diff object, with the records and their relocations intact.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
static int counter;
static long table[4];
static __attribute__((noinline)) int helper(int x) { return x * 2 + counter; }
int user(int x) { counter++; table[x & 3] += x; printk("user\n"); return helper(x); }
C
sed 's/"user\\n"/"user v2\\n"/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
n=$(jqr '.relocations.klp | length')
[ "$n" = 3 ]
[ "$(sec_size .kpatch_gen.klp_relocs)" = $((24 * n)) ]
readelf -SW "$t/out.o" | sed -n 's/^ *\[ *[0-9]*\] *//p' | awk '$1 == ".kpatch_gen.klp_relocs" {print $2, $NF}' | has -x 'PROGBITS 8'
typenum() { case $1 in R_X86_64_PC32) echo 02000000;; R_X86_64_32S) echo 0b000000;; R_X86_64_64) echo 01000000;; *) echo "?";; esac; }
hexaddend() { if [ "$1" -lt 0 ]; then echo "- $(printf '%x' $((-$1)))"; else echo "+ $(printf '%x' "$1")"; fi; }
verify_table() { # verify_table OBJECT REPORT-INDEX-OFFSET RECORD-BASE
	local obj=$1 k=$2 base=$3 i
	out_relocs .kpatch_gen.klp_relocs "$obj" > "$t/tab"
	for i in $(seq 0 $((n - 1))); do
		local sec off sym addend type rec
		read -r sec off sym addend type < <(jqr ".relocations.klp[$i] | \"\(.section) \(.offset) \(.symbol) \(.addend) \(.type)\"")
		rec=$((base + 24 * (i + k)))
		grep -qx "$(printf '%x' $rec) R_X86_64_64 $sec $(hexaddend $((off + ${4:-0})))" "$t/tab"
		grep -qx "$(printf '%x' $((rec + 8))) R_X86_64_64 .klp.sym.vmlinux.$sym,0 $(hexaddend "$addend")" "$t/tab"
		[ "$(sec_bytes .kpatch_gen.klp_relocs $((rec + 16)) 8 "$obj")" = "$(typenum "$type")00000000" ]
		# The site: zero, and no ELF relocation of its own.
		[ "$(sec_bytes "$sec" $((off + ${4:-0})) 4 "$obj")" = 00000000 ]
		out_relocs "$sec" "$obj" | awk '{print $1}' | not grep -qx "$(printf '%x' $((off + ${4:-0})))"
	done
	[ "$(grep -c . "$t/tab")" = $((2 * n)) ] || [ -n "${5:-}" ]
}
verify_table "$t/out.o" 0 0
readelf -sW "$t/out.o" | awk '$8 ~ /^\.klp\.sym\./ {print $5, $7}' | sort -u | has -x 'WEAK UND'
[ "$(readelf -sW "$t/out.o" | awk '$8 ~ /^\.klp\.sym\./' | wc -l)" = 3 ]
# ld -r alone.
ld -r -o "$t/linked.o" "$t/out.o"
verify_table "$t/linked.o" 0 0
# ld -r with the diff object of another unit placed first: our records follow its records,
# our .text.user follows its .text.user (same section name: merged by ld -r).
sed 's/user/other/g; s/counter/ocount/g; s/helper/ohelp/g; s/table/otab/g' "$t/orig.c" > "$t/o2.c"
sed 's/"other\\n"/"other v2\\n"/' "$t/o2.c" > "$t/p2.c"
kcc "$t/o2.c" "$t/o2.o"
kcc "$t/p2.c" "$t/p2.o"
"$KPATCH_GEN" diff "$t/o2.o" "$t/p2.o" -o "$t/out2.o" --target "$t/o2.o" -q
ld -r -o "$t/both.o" "$t/out2.o" "$t/out.o"
[ "$(sec_size .kpatch_gen.klp_relocs "$t/both.o")" = $((2 * 24 * n)) ]
out_relocs .kpatch_gen.klp_relocs "$t/both.o" | has '^0 R_X86_64_64 .text.other + '
# Both units' records are against distinct sections (.text.other, .text.user), so ours keep
# their offsets, at records n..2n-1.
verify_table "$t/both.o" "$n" 0 0 multi
