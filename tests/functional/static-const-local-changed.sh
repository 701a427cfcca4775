#!/bin/bash
# A function-scope `static const` (a lookup table, NL_SET_ERR_MSG()'s `__msg` string) holds
# no state: when its contents change, the function that uses it is patched and its copy uses
# a new copy of the data, carried in the output ("read-only static local"), instead of the
# refusal DATA_INIT_CHANGED that a writable static gets. Unchanged functions whose tables
# were only renumbered (a new table earlier in the file) do not change.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
struct ext { const char *msg; };
#define SET_MSG(e, m) do { static const char __msg[] = m; (e)->msg = __msg; } while (0)
int lookup(int x) { static const int tbl[] = {10, 20, 30, 40}; return tbl[x & 3]; }
int check(struct ext *e, int v)
{
	if (v < 0) { SET_MSG(e, "negative value"); return -22; }
	if (v > 9) { SET_MSG(e, "too big"); return -34; }
	return 0;
}
int other(int x) { static const short steps[] = {1, 2, 4, 8}; return steps[x & 3] * x; }
/*NEW*/
C
sed 's/{10, 20, 30, 40}/{10, 20, 30, 45}/' "$t/orig.c" > "$t/table.c"
sed 's/"too big"/"value too big"/' "$t/orig.c" > "$t/msg.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/table.c" "$t/table.o"
kcc "$t/msg.c" "$t/msg.o"
# The premise: the data are local objects named name.N in read-only sections.
readelf -sW "$t/orig.o" | awk '$4 == "OBJECT" && $5 == "LOCAL" {print $8}' | has '^tbl\.[0-9]*$'
readelf -SW "$t/orig.o" | grep -E ' \.rodata\.tbl\.[0-9]+ ' | not grep -q ' WA '

# Only the table's contents change: the code of lookup() is byte-identical, yet it changes.
kdiff "$t/orig.o" "$t/table.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = lookup ]
[ "$(jqr '.changed[0].reason.kind')" = relocation ]
jqr '.changed[0].reason.detail' | has 'uses read-only static local tbl\.[0-9]* whose contents differ'
[ "$(jqr '[.refusals[]] | length')" = 0 ]
tbl=$(jqr '.included[] | select(.kind == "read-only static local") | .symbol')
[[ "$tbl" =~ ^tbl\.[0-9]+$ ]]
# The copy carries the new contents; lookup's copy refers to it, not to the kernel's table.
out_sym "$tbl"
[ "$(sec_bytes ".rodata.$tbl" 12 4)" = 2d000000 ]
out_relocs .text.lookup | has "R_X86_64_32S $tbl + 0"
[ -z "$(klp_syms)" ]

# A changed error message (NL_SET_ERR_MSG's `static const char __msg[]`).
kdiff "$t/orig.o" "$t/msg.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = check ]
[ "$(jqr '[.included[] | select(.kind == "read-only static local") | .symbol | sub("\\.[0-9]+$"; "")] | unique | join(" ")')" = __msg ]
[ -z "$(klp_syms)" ]

# A new function with its own table (gcc numbers statics from the end of the file) renumbers
# every table: nothing changes but the new function.
sed 's|/\*NEW\*/|int pad(int x) { static const int pads[] = {7, 8, 9, 3}; return pads[x \& 3]; }|' "$t/orig.c" > "$t/moved.c"
kcc "$t/moved.c" "$t/moved.o"
[ "$(readelf -sW "$t/orig.o" | awk '$8 ~ /^tbl\./ {print $8}')" != "$(readelf -sW "$t/moved.o" | awk '$8 ~ /^tbl\./ {print $8}')" ]
kdiff "$t/orig.o" "$t/moved.o" --target "$t/orig.o"
expect_rc 0
[ -z "$(changed)" ]
[ "$(jqr '.included[] | select(.kind == "new function") | .symbol')" = pad ]
[ "$(jqr '.removed | length')" = 0 ]
