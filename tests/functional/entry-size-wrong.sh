#!/bin/bash
# Special-section entry sizes are validated against the relocation pattern, so a wrong
# --entry-size (an object from a kernel with another struct layout, or a typo) is refused
# with BAD_SPECIAL_SECTION naming the section and the option to fix, instead of silently
# mis-grouping entries. The right size is accepted and reported as coming from the command line.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#define WARN_ON(cond) ({ int __r = !!(cond); if (__r) asm volatile("1: ud2\n"	\
	".pushsection __bug_table,\"aw\"\n2: .long 1b - .\n .long %c0 - .\n"	\
	" .word %c1, 1\n .org 2b+12\n.popsection\n" :: "i"(__FILE__), "i"(__LINE__)); __r; })
int wa(int x) { if (WARN_ON(x > 1)) return 1; return x; }
int wb(int x) { if (WARN_ON(x > 2)) return 2; return x + 1; }
C
sed 's/return x + 1;/return x + 5;/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
[ "$(sec_size __bug_table "$t/patched.o")" = 24 ]
# 8 (bug_entry without CONFIG_DEBUG_BUGVERBOSE): entry 1 would start at +8, where there is no
# address relocation.
kdiff "$t/orig.o" "$t/patched.o" --entry-size __bug_table=8
expect_rc 1
[ "$(refusal_codes | sort -u)" = BAD_SPECIAL_SECTION ]
[ "$(jqr '.refusals[0].location.section')" = __bug_table ]
jqr '.refusals[0].message' | grep -q 'entry size 8 (command line) does not fit'
jqr '.refusals[0].message' | grep -q -- '--entry-size __bug_table=BYTES'
[ ! -e "$t/out.o" ]
# 16: 24 bytes is not a whole number of entries.
kdiff "$t/orig.o" "$t/patched.o" --entry-size __bug_table=16
expect_rc 1
[ "$(refusal_codes | sort -u)" = BAD_SPECIAL_SECTION ]
jqr '.refusals[0].message' | grep -q 'not a multiple of the entry size 16'
# The right size.
kdiff "$t/orig.o" "$t/patched.o" --entry-size __bug_table=12
expect_rc 0
[ "$(changed)" = wb ]
[ "$(jqr '.special_sections[] | select(.section == "__bug_table") | "\(.entry_size) \(.size_source) \(.kept)"')" = "12 command line 1" ]
# A section the tool does not know is a usage error, not silently ignored.
rm -f "$t/report.json"
kdiff "$t/orig.o" "$t/patched.o" --entry-size __bug_tabel=12 2>"$t/err"
expect_rc 2
grep -q "'__bug_tabel' is not a special section" "$t/err"
