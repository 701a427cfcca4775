#!/bin/bash
# 6.12: a changed exported function's entry in .export_symbol (label __export_symbol_NAME, the
# license and namespace strings, an 8-byte pointer) is dropped like 6.1's ___ksymtab+NAME:
# the running kernel's export stays valid, and modpost would otherwise export the copy under
# the patch module's name. Entries are told apart by their labels (16 bytes without a
# namespace, 32 with KPG_NAMESPACE), and the export's kind is read from the strings.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "export-6.12.h"
int kpg_exported(int x) { return x + 1; }
EXPORT_SYMBOL(kpg_exported);
int kpg_exported_ns(int x) { return x * 2; }
EXPORT_SYMBOL_NS_GPL(kpg_exported_ns, KPG_NAMESPACE);
int kpg_unchanged(int x) { return x - 1; }
EXPORT_SYMBOL_GPL(kpg_unchanged);
C
sed 's/return x + 1;/return x + 2;/; s/return x \* 2;/return x * 3;/' "$t/orig.c" > "$t/patched.c"
# shellcheck disable=SC2086
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS" $K612
# Premise: one shared section, entries of 16 + 32 + 16 bytes.
[ "$(sec_size .export_symbol "$t/patched.o")" = 64 ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed | sort | tr '\n' ' ')" = "kpg_exported kpg_exported_ns " ]
[ -z "$(sec_size .export_symbol)" ]
readelf -sW "$t/out.o" > "$t/out.syms"
not grep -F __export_symbol_ "$t/out.syms"
jqr '.special_sections[] | select(.section == ".export_symbol") | .note' | has 'dropped all 3 entries, 2 of them for included code'
jqr '.notes[]' | has 'kpg_exported is exported (EXPORT_SYMBOL) and changed: its ABI was not checked'
jqr '.notes[]' | has 'kpg_exported_ns is exported (EXPORT_SYMBOL_NS_GPL("KPG_NAMESPACE")) and changed'
[ "$(jqr '.refusals | length')" = 0 ]
