#!/bin/bash
# Without CONFIG_JUMP_LABEL a struct _ddebug is 40 bytes, not the built-in 56. Like the other
# tables, the entry size comes from the target's DWARF (struct _ddebug) when it has it, and
# the report says where it came from; without it the built-in size does not fit and the
# table is refused as BAD_SPECIAL_SECTION with the --entry-size hint.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "dyndbg.h"
int dd_a(int x) { pr_debug("dd_a %d\n", x); return x + 1; }
int dd_b(int x) { pr_debug("dd_b %d\n", x); return x + 2; }
C
sed 's/return x + 2;/return x + 20;/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS" -DKPG_NO_JUMP_LABEL
[ "$(sec_size __dyndbg "$t/patched.o")" = 80 ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = dd_b ]
[ "$(jqr '.special_sections[] | select(.section == "__dyndbg") | "\(.entry_size) \(.size_source) \(.kept)"')" = "40 target DWARF 1" ]
[ "$(sec_size __dyndbg)" = 40 ]
# No DWARF for the table: the built-in 56 bytes do not fit.
objcopy --strip-debug "$t/orig.o" "$t/target-nodebug.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/target-nodebug.o"
expect_rc 1
[ "$(refusal_codes | sort -u)" = BAD_SPECIAL_SECTION ]
jqr '.refusals[0].message' | has -- '--entry-size __dyndbg=BYTES'
