#!/bin/bash
# __jump_table (static branches: 16-byte struct jump_entry { s32 code; s32 target; long key; }
# as arch_static_branch() writes it with asm goto): only the copied function's entries are
# kept; code and target point into the copy; the key keeps its branch bit and refers to the
# running kernel's key -- a normal relocation for a key another unit defines, a livepatch
# relocation for this unit's static key (vmlinux livepatch relocations are applied while the
# module loads, before its jump labels are initialised).
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
struct static_key { int enabled; };
extern struct static_key shared_key;
static struct static_key local_key;
static inline __attribute__((always_inline)) int static_branch(struct static_key *key, int branch)
{
	asm goto("1: .byte 0x0f,0x1f,0x44,0x00,0x00\n\t"
		 ".pushsection __jump_table, \"aw\"\n\t"
		 ".balign 8\n\t"
		 ".long 1b - ., %l[l_yes] - .\n\t"
		 ".quad %c0 + %c1 - .\n\t"
		 ".popsection\n\t"
		 : : "i"(key), "i"(branch) : : l_yes);
	return 0;
l_yes:
	return 1;
}
int ja(int x) { if (static_branch(&shared_key, 0)) printk("ja\n"); return x + 1; }
int jb(int x)
{
	if (static_branch(&shared_key, 1))
		printk("jb shared %d\n", x);
	if (static_branch(&local_key, 0))
		printk("jb local %d\n", x);
	return x + 2;
}
int jc(int x) { if (static_branch(&local_key, 0)) printk("jc\n"); return x + 3; }
void enable_local(void) { local_key.enabled = 1; }
C
sed 's/jb local %d/jb local: %d/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
[ "$(sec_size __jump_table "$t/patched.o")" = 64 ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = jb ]
[ "$(jqr '.special_sections[] | select(.section == "__jump_table") | "\(.entries) \(.kept)"')" = "4 2" ]
[ "$(sec_size __jump_table)" = 32 ]
# The input entries of jb, in the patched object's coordinates: code and target of each.
out_relocs __jump_table "$t/patched.o" | awk '$3 == ".text.jb" {print $5}' > "$t/in"
out_relocs __jump_table > "$t/rel"
cat "$t/rel"
# code/target of both entries against the copy (same offsets as in .text.jb: bundled section).
[ "$(awk '$3 == "jb" {print $5}' "$t/rel" | tr '\n' ' ')" = "$(tr '\n' ' ' < "$t/in")" ]
[ "$(awk '$3 == "jb" {print $1}' "$t/rel" | tr '\n' ' ')" = "0 4 10 14 " ]
# Entry 0's key: the exported key with its branch bit, a normal relocation.
grep -qx '8 R_X86_64_PC64 shared_key + 1' "$t/rel"
# Entry 1's key: no ELF relocation, a livepatch relocation record to local_key instead.
awk '$1 == "18"' "$t/rel" | not grep -q .
[ "$(jqr '.relocations.klp[] | "\(.section)+\(.offset) \(.symbol) \(.type) \(.addend)"')" = "__jump_table+24 local_key R_X86_64_PC64 0" ]
out_relocs .kpatch_gen.klp_relocs | has -x '0 R_X86_64_64 __jump_table + 18'
