#!/bin/bash
# gcc numbers function-scope statics per unit; a patch that adds a static elsewhere renumbers
# them. Here rx_count's and tx_count's `calls` are calls.1/calls.0 in the original and
# calls.2/calls.1 in the patched object, so the patched tx_count's variable carries the *name
# of rx_count's* in the running kernel. The patched tx_count must keep using its own running
# variable: a livepatch relocation to calls.0, never to calls.1 and never a fresh copy.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
int rx_count(void) { static int calls; calls++; printk("rx=%d\n", calls); return calls; }
int tx_count(void) { static int calls; calls += 2; printk("tx=%d\n", calls); return calls; }
C
cat > "$t/patched.c" <<'C'
extern int printk(const char *fmt, ...);
int rx_count(void) { static int calls; calls++; printk("rx=%d\n", calls); return calls; }
int tx_count(void) { static int calls; calls += 2; printk("tx now %d\n", calls); return calls; }
int last(int x) { static int seen; seen += x; return x + seen; }
C
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
# Which name each function's variable has on each side (from the relocations gcc wrote).
var_of() { readelf -rW "$1" | awk -v s=".rela.text.$2" '$0 ~ "section ." s "." {f=1; next} /Relocation section/ {f=0} f && /\.bss\.calls/ && !d {print $5; d = 1}' | sed 's/^\.bss\.//'; }
otx=$(var_of "$t/orig.o" tx_count)
ptx=$(var_of "$t/patched.o" tx_count)
orx=$(var_of "$t/orig.o" rx_count)
# The premise: renumbering happened, and the patched tx_count's name is rx_count's old name.
[ -n "$otx" ] && [ "$otx" != "$ptx" ]
[ "$ptx" = "$orx" ] || { echo "gcc numbered the statics differently than this test expects" >&2; exit 77; }
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = tx_count ]
[ "$(klp_syms | sort -u)" = "$otx" ]
[ "$(jqr '[.relocations.klp[].sympos] | unique | .[]')" = 0 ]
readelf -sW "$t/out.o" | awk '{print $8}' | has -xF ".klp.sym.vmlinux.$otx,0"
readelf -sW "$t/out.o" | awk '{print $8}' | not grep -q '^calls'
# The new static of the new function is a copy (it does not exist in the kernel).
[ "$(jqr '.included[] | select(.kind == "new object") | .symbol')" = "$(readelf -sW "$t/patched.o" | awk '$8 ~ /^seen\./ {print $8}')" ]
