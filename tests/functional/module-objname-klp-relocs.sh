#!/bin/bash
# Patching a unit of a loadable module (--objname my-mod, '-' becomes '_'): everything the
# patched code uses from the module -- statics, and globals too, since the patch may load
# before the module (late module patching) -- becomes a livepatch relocation against
# .klp.sym.my_mod.<name>,<sympos>; the replacement's alias names the module object.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
static int mod_state;
static __attribute__((noinline)) int mod_helper(int x) { printk("helper %d\n", x); return x + mod_state; }
int mod_global_counter;
int mod_entry(int x) { mod_state++; mod_global_counter++; printk("entry\n"); return mod_helper(x); }
C
sed 's/"entry\\n"/"entry v2\\n"/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
printf '0x11111111\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n0x22222222\t__fentry__\tvmlinux\tEXPORT_SYMBOL\t\n' > "$t/Module.symvers"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o" --objname my-mod --symvers "$t/Module.symvers"
expect_rc 0
[ "$(jqr .objname)" = my_mod ]
[ "$(jqr '.changed[0].alias')" = __kpg_new.my_mod.mod_entry.0 ]
out_sym __kpg_new.my_mod.mod_entry.0
jqr '.relocations.klp[] | "\(.object) \(.symbol) \(.sympos)"' | sort -u > "$t/klp"
printf '%s\n' "my_mod mod_global_counter 0" "my_mod mod_helper 0" "my_mod mod_state 0" > "$t/want"
diff "$t/want" "$t/klp"
for s in mod_state mod_global_counter mod_helper; do out_sym ".klp.sym.my_mod.$s,0"; done
# vmlinux exports stay normal relocations.
[ "$(jqr '.relocations.normal[].symbol' | sort | tr '\n' ' ')" = "__fentry__ printk " ]
readelf -sW "$t/out.o" | awk '{print $8}' | not grep -q '^\.klp\.sym\.vmlinux\.'
# The same unit as part of vmlinux: the unexported global and the statics are vmlinux's.
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o" --symvers "$t/Module.symvers"
expect_rc 0
[ "$(jqr '[.relocations.klp[].object] | unique | .[]')" = vmlinux ]
