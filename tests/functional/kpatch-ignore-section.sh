#!/bin/bash
# KPATCH_IGNORE_SECTION("name") (kpatch-macros.h): a table the diff does not know, pointing at a
# changed function, is dropped instead of refused (UNKNOWN_SPECIAL_SECTION without the marker).
. "$(dirname "$0")/kpatch-common.sh"
cat > "$t/orig.c" <<'C'
#include "kpatch-macros.h"
int handler(int x) { return x + 1; }
/* An entry no symbol covers, as the kernel's asm-built tables are (.pushsection). */
asm(".pushsection my_table, \"a\"\n.quad handler\n.popsection");
C
sed 's/x + 1/x + 2/' "$t/orig.c" > "$t/patched.c"
kpatch_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = UNKNOWN_SPECIAL_SECTION ]
echo 'KPATCH_IGNORE_SECTION("my_table");' >> "$t/patched.c"
kpatch_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = handler ]
[ -z "$(sec_size my_table)" ]
jqr '.notes[]' | has 'KPATCH_IGNORE_SECTION("my_table"): the table is dropped'
