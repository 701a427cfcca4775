#!/bin/bash
# Special-section entry sizes are validated against the relocation pattern, so a wrong
# --entry-size (an object from a kernel with another struct layout, or a typo) is refused
# with BAD_SPECIAL_SECTION naming the section and the option to fix, instead of silently
# mis-grouping entries -- when it matters: the table holds an entry for a function the patch
# carries, or it differs between the objects. A table that does not fit but concerns nothing
# the patch carries, and is the same in both objects, is dropped with a note (objects from
# other kernels). The right size is accepted and reported as coming from the command line.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#define WARN_ON(cond) ({ int __r = !!(cond); if (__r) asm volatile("1: ud2\n"	\
	".pushsection __bug_table,\"aw\"\n2: .long 1b - .\n .long %c0 - .\n"	\
	" .word %c1, 1\n .org 2b+12\n.popsection\n" :: "i"(__FILE__), "i"(__LINE__)); __r; })
int wa(int x) { if (WARN_ON(x > 1)) return 1; return x; }
int wb(int x) { if (WARN_ON(x > 2)) return 2; return x + 1; }
int wc(int x) { return x * 7; }
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
jqr '.refusals[0].message' | has 'entry size 8 (command line) does not fit'
jqr '.refusals[0].message' | has -- '--entry-size __bug_table=BYTES'
[ ! -e "$t/out.o" ]
jqr '.refusals[0].message' | has 'points into wb'
[ "$(jqr '.refusals[0].location.symbol')" = wb ] # the function whose entries are needed
# The same wrong size, but the change is in wc, which has no WARN_ON: the table (the same in
# both objects) is dropped with a note.
sed 's/return x \* 7;/return x * 9;/' "$t/orig.c" > "$t/wc.c"
kcc_pair "$t/orig.c" "$t/wc.c"
kdiff "$t/orig.o" "$t/patched.o" --entry-size __bug_table=8
expect_rc 0
[ "$(changed)" = wc ]
jqr '.special_sections[] | select(.section == "__bug_table") | .note' | has '^dropped without a size check: entry 1 has no relocation at its owner field'
[ "$(jqr '.special_sections[] | select(.section == "__bug_table") | .kept')" = 0 ]
jqr '.notes[]' | has '^__bug_table: dropped without a size check'
[ -z "$(sec_size __bug_table)" ]
# The change is in wc, but a line inserted above wa moves every bug_entry's line: the table
# differs, and without entry boundaries that cannot be told from a real change.
sed -e 's/return x \* 7;/return x * 9;/' -e 's|^int wa|/* one more line */\nint wa|' "$t/orig.c" > "$t/moved.c"
[ "$(grep -c . "$t/moved.c")" = "$(($(grep -c . "$t/orig.c") + 1))" ]
kcc_pair "$t/orig.c" "$t/moved.c"
kdiff "$t/orig.o" "$t/patched.o" --entry-size __bug_table=8
expect_rc 1
[ "$(refusal_codes)" = BAD_SPECIAL_SECTION ]
jqr '.refusals[0].message' | has 'it has no entry for the patched code, but it differs between the two objects'
kcc_pair "$t/orig.c" "$t/patched.c"
# 16: 24 bytes is not a whole number of entries.
kdiff "$t/orig.o" "$t/patched.o" --entry-size __bug_table=16
expect_rc 1
[ "$(refusal_codes | sort -u)" = BAD_SPECIAL_SECTION ]
jqr '.refusals[0].message' | has 'not a multiple of the entry size 16'
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
