#!/bin/bash
# A patch adds a global function in one unit (a.c) and calls it from another (b.c). Diffing
# a.c carries the new function as a GLOBAL definition (no alias: nothing to redirect);
# diffing b.c leaves the call a normal relocation to an undefined symbol, because the target
# kernel has no such symbol: the two diff objects link into one module.
. "$(dirname "$0")/common.sh"
cat > "$t/a-orig.c" <<'C'
extern int printk(const char *fmt, ...);
int a_existing(int x) { printk("a\n"); return x; }
C
cat > "$t/a-patched.c" <<'C'
extern int printk(const char *fmt, ...);
int a_existing(int x) { printk("a\n"); return x; }
int new_helper(int x) { printk("new helper %d\n", x); return x * 3; }
C
cat > "$t/b-orig.c" <<'C'
extern int printk(const char *fmt, ...);
int b_user(int x) { printk("b\n"); return x + 1; }
C
cat > "$t/b-patched.c" <<'C'
extern int printk(const char *fmt, ...);
extern int new_helper(int x);
int b_user(int x) { printk("b\n"); return new_helper(x) + 1; }
C
for f in a-orig a-patched b-orig b-patched; do kcc "$t/$f.c" "$t/$f.o"; done
ld -r -o "$t/vmlinux.o" "$t/a-orig.o" "$t/b-orig.o"
kdiff "$t/a-orig.o" "$t/a-patched.o" --target "$t/vmlinux.o"
expect_rc 0
[ -z "$(changed)" ]
[ "$(jqr '.included[] | select(.symbol == "new_helper") | "\(.kind): \(.why)"')" = "new function: new global function" ]
readelf -sW "$t/out.o" | awk '$8 == "new_helper" {print $4, $5, $7 != "UND"}' | has -x 'FUNC GLOBAL 1'
readelf -sW "$t/out.o" | awk '{print $8}' | not grep -q '^__kpg_new\.'
mv "$t/out.o" "$t/a-out.o"
kdiff "$t/b-orig.o" "$t/b-patched.o" --target "$t/vmlinux.o"
expect_rc 0
[ "$(changed)" = b_user ]
jqr '.relocations.normal[] | select(.symbol == "new_helper") | .why' | has 'provided by another object of this patch'
[ "$(jqr '[.relocations.klp[] | select(.symbol == "new_helper")] | length')" = 0 ]
out_relocs .text.b_user | has 'R_X86_64_PLT32 new_helper - 4'
mv "$t/out.o" "$t/b-out.o"
ld -r -o "$t/module.o" "$t/a-out.o" "$t/b-out.o"
readelf -sW "$t/module.o" | awk '$8 == "new_helper" {print $7}' | grep -vqx UND
readelf -sW "$t/module.o" | awk '$8 == "new_helper" && $7 == "UND"' | not grep -q .
