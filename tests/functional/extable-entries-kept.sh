#!/bin/bash
# __ex_table (user-access fault fixups, 12-byte struct exception_table_entry { int insn,
# fixup, data; } as _ASM_EXTABLE_TYPE() emits it): only the entries of the copied function
# are kept; their insn and fixup fields are relocations into the copy; the data (fixup type)
# is unchanged. An entry whose fixup type changes, with identical code, changes its function.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define EX_TYPE_UACCESS 3
#define EX_TYPE_DEFAULT 1
#define get_user_asm(val, ptr, err, type)			\
	asm volatile("1: movl (%2), %1\n"			\
		     "2:\n"					\
		     ".pushsection __ex_table,\"a\"\n"		\
		     " .balign 4\n"				\
		     " .long 1b - .\n"				\
		     " .long 2b - .\n"				\
		     " .long %c3\n"				\
		     ".popsection\n"				\
		     : "+r"(err), "=r"(val) : "r"(ptr), "i"(type))
int ga(const int *p) { int e = 0, v; get_user_asm(v, p, e, EX_TYPE_UACCESS); return e ? e : v; }
int gb(const int *p, const int *q)
{
	int e = 0, v, w;
	get_user_asm(v, p, e, EX_TYPE_UACCESS);
	printk("gb %d\n", v);
	get_user_asm(w, q, e, EX_TYPE_UACCESS);
	return e ? e : v + w;
}
int gc(const int *p) { int e = 0, v; get_user_asm(v, p, e, EX_TYPE_UACCESS); return e ? e : v * 2; }
C
sed 's/"gb %d\\n"/"gb: %d\\n"/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
[ "$(sec_size __ex_table "$t/patched.o")" = 48 ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = gb ]
[ "$(jqr '.special_sections[] | select(.section == "__ex_table") | "\(.entries) \(.kept)"')" = "4 2" ]
[ "$(sec_size __ex_table)" = 24 ]
out_relocs __ex_table > "$t/rel"
cat "$t/rel"
# 2 entries x (insn, fixup), all against the copy of gb, and nothing else.
[ "$(grep -c . "$t/rel")" = 4 ]
[ "$(awk '{print $2, $3}' "$t/rel" | sort -u)" = "R_X86_64_PC32 gb" ]
[ "$(awk '{print $1}' "$t/rel" | tr '\n' ' ')" = "0 4 c 10 " ]
# insn fields point at the two movl loads of the copy.
loads=$(objdump -d "$t/out.o" --section=.text.gb | awk '/\tmov +\(%/ {sub(":", "", $1); print $1}' | tr '\n' ' ')
[ "$(awk '$1 == "0" || $1 == "c" {print $5}' "$t/rel" | sort | tr '\n' ' ')" = "$(echo $loads | tr ' ' '\n' | sort | tr '\n' ' ')" ]
# The data fields: EX_TYPE_UACCESS.
[ "$(sec_bytes __ex_table 8 4)" = 03000000 ]
[ "$(sec_bytes __ex_table 20 4)" = 03000000 ]
# Same code, another fixup type in gc's entry: gc changes because of its entry.
sed 's/get_user_asm(v, p, e, EX_TYPE_UACCESS); return e ? e : v \* 2;/get_user_asm(v, p, e, EX_TYPE_DEFAULT); return e ? e : v * 2;/' "$t/orig.c" > "$t/type.c"
grep -q 'EX_TYPE_DEFAULT); return e ? e : v \* 2' "$t/type.c"
kcc_pair "$t/orig.c" "$t/type.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = gc ]
[ "$(jqr '.changed[0].reason.kind')" = special-entry ]
jqr '.changed[0].reason.detail' | has '__ex_table'
