#!/bin/bash
# --objtool-at-link (targets with CONFIG_X86_KERNEL_IBT, where kbuild runs objtool on the patch
# module's link): every livepatch relocation record's site also gets an ordinary relocation of
# the same type against the same weak .klp.sym symbol and addend (a "shadow", klp_format.h),
# so that objtool can follow the calls and jumps through livepatch relocations; and tables
# objtool writes (.return_sites here) are not carried from an input that objtool already
# processed. Without the flag: no shadows, and the table's entries are carried.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
static int counter;
static __attribute__((noinline)) int helper(int x) { return x * 2 + counter; }
int user(int x)
{
	counter++;
	printk("user\n");
	/* What objtool --rethunk writes for a `jmp __x86_return_thunk`: an s32 to the site. */
	asm volatile("1: nop\n\t.pushsection .return_sites, \"a\"\n\t.long 1b - .\n\t.popsection");
	return helper(x);
}
C
sed 's/"user\\n"/"user v2\\n"/' "$t/orig.c" > "$t/patched.c"
# shellcheck disable=SC2086
kcc_pair "$t/orig.c" "$t/patched.c" $K612
[ "$(sec_size .return_sites "$t/patched.o")" = 4 ]

# Without the flag: records only, and the .return_sites entry of the copy is carried.
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
n=$(jqr '.relocations.klp | length')
[ "$n" -ge 2 ] # counter (data) and helper (the tail call)
for i in $(seq 0 $((n - 1))); do
	read -r sec off < <(jqr ".relocations.klp[$i] | \"\(.section) \(.offset)\"")
	out_relocs "$sec" | awk '{print $1}' | not grep -qx "$(printf '%x' "$off")"
done
[ "$(sec_size .return_sites)" = 4 ]

# With it: a shadow at each record's site, and no .return_sites.
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o" --objtool-at-link
expect_rc 0
[ "$(jqr '.relocations.klp | length')" = "$n" ]
for i in $(seq 0 $((n - 1))); do
	read -r sec off sym type < <(jqr ".relocations.klp[$i] | \"\(.section) \(.offset) \(.symbol) \(.type)\"")
	out_relocs "$sec" | has -x "$(printf '%x' "$off") $type .klp.sym.vmlinux.$sym,0 .*"
	[ "$(sec_bytes "$sec" "$off" 4)" = 00000000 ]
done
# The records are still there for the post-link step.
[ "$(sec_size .kpatch_gen.klp_relocs)" = $((24 * n)) ]
[ -z "$(sec_size .return_sites)" ]
