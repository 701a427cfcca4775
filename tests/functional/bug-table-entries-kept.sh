#!/bin/bash
# __bug_table (WARN_ON()/BUG() sites, 12-byte struct bug_entry with BUGVERBOSE): the output
# keeps exactly the entries of the copied functions, and each kept entry's address field is a
# relocation to the copy (where its ud2 is), its file field to the copied file-name string,
# with line and flags unchanged. Entries of functions that are not patched are dropped.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define BUGFLAG_WARNING (1 << 0)
#define MY_WARN_ON(cond) ({						\
	int __ret = !!(cond);						\
	if (__builtin_expect(__ret, 0))					\
		asm volatile("1: ud2\n"					\
			     ".pushsection __bug_table,\"aw\"\n"	\
			     "2: .long 1b - .\n"			\
			     ".long %c0 - .\n"				\
			     ".word %c1, %c2\n"				\
			     ".org 2b+%c3\n"				\
			     ".popsection\n"				\
			     :: "i"(__FILE__), "i"(__LINE__),		\
			        "i"(BUGFLAG_WARNING), "i"(12));		\
	__ret; })
int fa(int x) { if (MY_WARN_ON(x > 10)) return -1; if (MY_WARN_ON(x < -10)) return -2; return x; }
int fb(int x)
{
	if (MY_WARN_ON(x == 5))
		return -1;
	printk("fb %d\n", x);
	if (MY_WARN_ON(x == 6))
		return -3;
	return x + 1;
}
int fc(int x) { if (MY_WARN_ON(x == 7)) return -1; return x + 2; }
C
sed 's/"fb %d\\n"/"fb: %d\\n"/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
[ "$(sec_size __bug_table "$t/patched.o")" = 60 ] # 5 entries
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = fb ]
[ "$(jqr '.special_sections[] | select(.section == "__bug_table") | "\(.entries) \(.kept) \(.entry_size)"')" = "5 2 12" ]
# Two entries, 24 bytes, in the output.
[ "$(sec_size __bug_table)" = 24 ]
# Their address fields point at the two ud2 of the copied fb, in order.
ud2=$(objdump -d "$t/out.o" --section=.text.fb | awk '/\tud2/ {sub(":", "", $1); print $1}' | tr '\n' ' ')
[ "$(echo $ud2 | wc -w)" = 2 ]
set -- $ud2
out_relocs __bug_table > "$t/rel"
cat "$t/rel"
[ "$(grep -c . "$t/rel")" = 4 ]
grep -qx "0 R_X86_64_PC32 fb + $1" "$t/rel"
grep -qx "c R_X86_64_PC32 fb + $2" "$t/rel"
# The file fields point at "unit.c" in a string section of the output.
strsec=$(awk '$1 == "4" {print $3}' "$t/rel")
[ "$(awk '$1 == "10" {print $3}' "$t/rel")" = "$strsec" ]
readelf -p "$strsec" "$t/out.o" | has 'unit\.c'
# Line and flags of each kept entry are those of the input entry for the same site.
out_relocs __bug_table "$t/patched.o" > "$t/inrel"
for e in 0 12; do
	site=$(awk -v o=$(printf '%x' $e) '$1 == o {print $5}' "$t/rel")
	in=$(awk -v x="$site" '$3 == ".text.fb" && $5 == x {print $1}' "$t/inrel")
	[ -n "$in" ]
	[ "$(sec_bytes __bug_table $((e + 8)) 4)" = "$(sec_bytes __bug_table $((16#$in + 8)) 4 "$t/patched.o")" ]
done
# ... which are fb's lines 19 and 22 with the warning flag.
for e in 0 12; do sec_bytes __bug_table $((e + 8)) 4; done | sort > "$t/lines"
printf '%s\n' 13000100 16000100 > "$t/want"
diff "$t/want" "$t/lines"
