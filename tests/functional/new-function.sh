#!/bin/bash
# A patch that adds a static helper: the caller changes, the helper is new and carried in the
# output (with its own string literals and ftrace site), and the call to it is a relocation
# against the copy, not a livepatch relocation.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
int show(int x) { printk("x=%d\n", x); return 0; }
int other(int x) { return x + 1; }
C
cat > "$t/patched.c" <<'C'
extern int printk(const char *fmt, ...);
static __attribute__((noinline)) int validate(int x) { if (x < 0) printk("negative %d\n", x); return x < 0; }
int show(int x) { if (validate(x)) return -22; printk("x=%d\n", x); return 0; }
int other(int x) { return x + 1; }
C
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = show ]
[ "$(jqr '.new[] | select(.name == "validate") | .included')" = true ]
[ "$(jqr '.included[] | select(.symbol == "validate") | .kind')" = "new function" ]
out_sym validate
not out_sym other
# validate is not patched (nothing to redirect), so it has no __kpg_new alias.
not out_sym __kpg_new.vmlinux.validate.0
out_sym __kpg_new.vmlinux.show.0
# The call from show reaches the copy of validate through a normal relocation.
readelf -rW "$t/out.o" | awk '/Relocation section .\.rela\.text\.show/{s=1;next} /Relocation section/{s=0} s' > "$t/show.rel"
grep -q 'R_X86_64_PC32 .* validate - 4' "$t/show.rel"
[ "$(jqr '.relocations.klp | length')" = 0 ]
# Its string is in the output and its ftrace site is recorded.
strings "$t/out.o" | has 'negative %d'
readelf -rW "$t/out.o" | awk '/rela__mcount_loc/{s=1;next} /Relocation section/{s=0} s' | has ' validate + 0'
