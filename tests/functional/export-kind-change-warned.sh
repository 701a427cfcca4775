#!/bin/bash
# An export that changes kind (EXPORT_SYMBOL -> EXPORT_SYMBOL_GPL, a namespace) or that the
# patch removes stays as the running kernel has it: the diff goes on and warns, naming the
# symbol and what the running kernel keeps.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "export.h"
int kpg_a(int x) { return x + 1; }
EXPORT_SYMBOL(kpg_a);
int kpg_b(int x) { return x + 2; }
EXPORT_SYMBOL(kpg_b);
int kpg_c(int x) { return x + 3; }
EXPORT_SYMBOL(kpg_c);
C
cat > "$t/patched.c" <<'C'
#include "export.h"
int kpg_a(int x) { return x + 10; }
EXPORT_SYMBOL_GPL(kpg_a);
int kpg_b(int x) { return x + 2; }
EXPORT_SYMBOL_NS_GPL(kpg_b, KPG_NS);
int kpg_c(int x) { return x + 3; }
C
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = kpg_a ]
jqr '.warnings[]' | has 'the export of kpg_a changes from EXPORT_SYMBOL to EXPORT_SYMBOL_GPL: the running kernel keeps EXPORT_SYMBOL'
jqr '.warnings[]' | has 'the export of kpg_b changes from EXPORT_SYMBOL to EXPORT_SYMBOL_NS_GPL("KPG_NS")'
jqr '.warnings[]' | has 'the patch removes the export of kpg_c: the running kernel keeps exporting it'
