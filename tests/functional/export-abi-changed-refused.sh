#!/bin/bash
# With the genksyms CRCs of both builds (kbuild appends `#SYMVER NAME 0xCRC` to the unit's
# .cmd file with CONFIG_MODVERSIONS; --orig-crcs/--patched-crcs take those files), a changed
# exported function whose CRC changed is refused with EXPORTED_ABI_CHANGED: modules built
# against the running kernel would call the new code with the old ABI. The same CRC is
# accepted, and a CRC change of an exported function the patch does not change is no concern
# (its code, and so its ABI, stays the running kernel's).
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "export.h"
int kpg_exported(int x) { return x + 1; }
EXPORT_SYMBOL(kpg_exported);
int kpg_other(int x) { return x * 2; }
EXPORT_SYMBOL(kpg_other);
C
sed 's/return x + 1;/return x + 2;/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
cmd() { # the .cmd file kbuild writes: the command line, then genksyms' lines
	printf 'cmd_unit.o := gcc -c -o unit.o unit.c\n'
	printf '#SYMVER %s %s\n' "$@"
}
cmd kpg_exported 0x1234abcd kpg_other 0x00000042 > "$t/orig.cmd"
cmd kpg_exported 0x0badf00d kpg_other 0x00000042 > "$t/patched.cmd"
kdiff "$t/orig.o" "$t/patched.o" --orig-crcs "$t/orig.cmd" --patched-crcs "$t/patched.cmd"
expect_rc 1
[ "$(refusal_codes)" = EXPORTED_ABI_CHANGED ]
[ "$(jqr '.refusals[0].location.symbol')" = kpg_exported ]
jqr '.refusals[0].message' | has 'genksyms CRC changed from 0x1234abcd to 0x0badf00d'
jqr '.refusals[0].message' | has '__GENKSYMS__'
[ ! -e "$t/out.o" ]
# Same CRC: accepted, and the report says the ABI was checked.
cmd kpg_exported 0x1234abcd kpg_other 0x00000042 > "$t/patched.cmd"
kdiff "$t/orig.o" "$t/patched.o" --orig-crcs "$t/orig.cmd" --patched-crcs "$t/patched.cmd"
expect_rc 0
jqr '.notes[]' | has 'kpg_exported is exported and changed with the same ABI (CRC 0x1234abcd)'
# The CRC of an unchanged exported function changed: not this patch's concern.
cmd kpg_exported 0x1234abcd kpg_other 0x00000043 > "$t/patched.cmd"
kdiff "$t/orig.o" "$t/patched.o" --orig-crcs "$t/orig.cmd" --patched-crcs "$t/patched.cmd"
expect_rc 0
# A changed exported function missing from one CRC file: warned, not silently accepted.
cmd kpg_other 0x00000042 > "$t/patched.cmd"
kdiff "$t/orig.o" "$t/patched.o" --orig-crcs "$t/orig.cmd" --patched-crcs "$t/patched.cmd"
expect_rc 0
jqr '.warnings[]' | has 'the patched build has no genksyms CRC for it'
# Malformed #SYMVER lines and a lone option are usage errors.
printf '#SYMVER kpg_exported zzz\n' > "$t/bad.cmd"
rc=0; "$KPATCH_GEN" diff "$t/orig.o" "$t/patched.o" -o "$t/x.o" --orig-crcs "$t/bad.cmd" --patched-crcs "$t/orig.cmd" 2> "$t/err" || rc=$?
[ "$rc" = 2 ]
grep -q "bad.cmd.*expected '#SYMVER <symbol> 0x<crc>'" "$t/err"
rc=0; "$KPATCH_GEN" diff "$t/orig.o" "$t/patched.o" -o "$t/x.o" --orig-crcs "$t/orig.cmd" 2> "$t/err" || rc=$?
[ "$rc" = 2 ]
grep -q 'go together' "$t/err"
