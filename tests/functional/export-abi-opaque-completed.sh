#!/bin/bash
# A genksyms CRC change that is no ABI change: the patched unit gains an #include that defines
# a struct the original unit only declared (the 6.12 fix to nf_reject_ipv6.c adds
# <net/dst_metadata.h>), so genksyms expands it and the CRC of an exported function whose
# prototype reaches it through a pointer changes. Both units' DWARF show the same prototype and
# types except that struct: accepted, with a note naming it. A real change next to it (a
# member of a struct both units define, a parameter type) is still refused.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "export.h"
struct kpg_dst;
struct kpg_req { int len; struct kpg_dst *dst; };
int kpg_send(struct kpg_req *r, int x) { return r->len + x; }
EXPORT_SYMBOL(kpg_send);
C
cat > "$t/patched.c" <<'C'
#include "export.h"
struct kpg_dst { unsigned long flags; void *ops; };
struct kpg_req { int len; struct kpg_dst *dst; };
int kpg_send(struct kpg_req *r, int x) { return r->len + x + (r->dst ? 1 : 0); }
EXPORT_SYMBOL(kpg_send);
C
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
cmd() { printf 'cmd_unit.o := gcc -c -o unit.o unit.c\n#SYMVER kpg_send %s\n' "$1"; }
cmd 0x1234abcd > "$t/orig.cmd"
cmd 0x0badf00d > "$t/patched.cmd"
kdiff "$t/orig.o" "$t/patched.o" --orig-crcs "$t/orig.cmd" --patched-crcs "$t/patched.cmd" 2> "$t/stderr"
expect_rc 0
jqr '.notes[]' | has 'kpg_send is exported and its genksyms CRC changed from 0x1234abcd to 0x0badf00d, but not its ABI'
jqr '.notes[]' | has 'except struct kpg_dst, which one unit only declares and the other defines'
has 'note: kpg_send is exported and its genksyms CRC changed' < "$t/stderr"
[ -s "$t/out.o" ]

# The same completion, and a member of a struct both units define changes: refused.
sed -i 's/struct kpg_req { int len;/struct kpg_req { long len;/' "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
kdiff "$t/orig.o" "$t/patched.o" --orig-crcs "$t/orig.cmd" --patched-crcs "$t/patched.cmd"
expect_rc 1
[ "$(refusal_codes)" = EXPORTED_ABI_CHANGED ]

# A parameter type changes: refused.
sed -i 's/struct kpg_req { long len;/struct kpg_req { int len;/; s/int kpg_send(struct kpg_req \*r, int x)/int kpg_send(struct kpg_req *r, long x)/' "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
kdiff "$t/orig.o" "$t/patched.o" --orig-crcs "$t/orig.cmd" --patched-crcs "$t/patched.cmd"
expect_rc 1
[ "$(refusal_codes)" = EXPORTED_ABI_CHANGED ]
