#!/bin/bash
# A changed exported function: its ___ksymtab+NAME entry (12 bytes, three PC32 relocations
# to the function, __kstrtab_NAME and __kstrtabns_NAME) is dropped, not refused as an unknown
# table: the running kernel's export stays valid (it reaches the original, which ftrace
# redirects), and a second export of the name would fail the module load ("exports
# duplicate symbol"). Without genksyms CRCs the ABI is not checked, and the report says so.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "export.h"
int kpg_exported(int x) { return x + 1; }
EXPORT_SYMBOL(kpg_exported);
int kpg_exported_gpl(int x) { return x * 2; }
EXPORT_SYMBOL_GPL(kpg_exported_gpl);
C
sed 's/return x + 1;/return x + 2;/; s/return x \* 2;/return x * 3;/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
# Premise: one section per export, as 6.1 emits them.
readelf -SW "$t/patched.o" | has -F '___ksymtab+kpg_exported'
readelf -SW "$t/patched.o" | has -F '___ksymtab_gpl+kpg_exported_gpl'
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed | sort | tr '\n' ' ')" = "kpg_exported kpg_exported_gpl " ]
# No export entry, string or ksymtab symbol in the output.
readelf -SW "$t/out.o" | not grep -q ksymtab
readelf -sW "$t/out.o" | not grep -q '__ksymtab_\|__kstrtab'
jqr '.special_sections[] | select(.section == "___ksymtab+*") | .note' | has 'dropped all 1 entries, 1 of them for included code'
jqr '.special_sections[] | select(.section == "___ksymtab_gpl+*") | .note' | has 'dropped all 1 entries, 1 of them for included code'
[ "$(jqr '.special_sections[] | select(.section == "___ksymtab+*") | .entry_size')" = 12 ]
jqr '.notes[]' | has 'kpg_exported is exported (EXPORT_SYMBOL) and changed: its ABI was not checked'
[ "$(jqr '.refusals | length')" = 0 ]
