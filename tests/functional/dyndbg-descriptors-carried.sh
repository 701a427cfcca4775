#!/bin/bash
# A changed function with pr_debug() sites carries its own descriptors: the output has one
# section __dyndbg (the name the module loader looks for) holding exactly the descriptors the
# function uses, and its __jump_table entries, whose key is a normal relocation to the copied
# descriptor's key (+40), with its branch bit. The running kernel's descriptors are not
# referenced, so a unit of a module is accepted too (a livepatch relocation into the module
# would be applied after the module's jump labels are set up: MODULE_KEY_IN_SPECIAL_ENTRY).
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "dyndbg.h"
int dd_a(int x) { pr_debug("dd_a %d\n", x); return x + 1; }
int dd_b(int x) { pr_debug("dd_b %d\n", x); pr_debug("dd_b again %d\n", x); return x + 2; }
int dd_c(int x) { pr_debug("dd_c %d\n", x); return x + 3; }
C
sed 's/return x + 2;/return x + 20;/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
for obj in vmlinux mymod; do
	kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o" --objname $obj
	expect_rc 0
	[ "$(changed)" = dd_b ]
	[ "$(jqr '.special_sections[] | select(.section == "__dyndbg") | "\(.entries) \(.kept) \(.entry_size)"')" = "4 2 56" ]
	# One __dyndbg section with dd_b's two descriptors, each pointing at dd_b's name.
	[ "$(readelf -SW "$t/out.o" | grep -c ' __dyndbg ')" = 1 ]
	[ "$(sec_size __dyndbg)" = 112 ]
	readelf -sW "$t/out.o" | awk '$8 ~ /^__UNIQUE_ID_ddebug/ {print $2, $3}' | sort > "$t/descs"
	[ "$(tr '\n' ' ' < "$t/descs")" = "0000000000000000 56 0000000000000038 56 " ]
	# dd_b's two jump entries: key = descriptor + 40 (branch bit 0), normal PC64 relocations.
	[ "$(jqr '.special_sections[] | select(.section == "__jump_table") | .kept')" = 2 ]
	out_relocs __jump_table | awk '$1 == "8" || $1 == "18" {print $2, $3, $5}' > "$t/keys"
	cat "$t/keys"
	[ "$(wc -l < "$t/keys")" = 2 ]
	awk '$1 != "R_X86_64_PC64" || $2 !~ /^(__dyndbg|__UNIQUE_ID_ddebug)/ || $3 != "28" {exit 1}' "$t/keys"
	[ "$(jqr '.relocations.klp | length')" = 0 ]
	[ "$(jqr '.refusals | length')" = 0 ]
done
