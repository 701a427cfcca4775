#!/bin/bash
# --symvers says who exports what: a symbol exported by vmlinux stays a normal relocation
# (the module loader resolves it, modversions check its CRC); one exported by a module
# becomes a livepatch relocation against that module (its name from the path, '-' -> '_'),
# resolved when the module loads; an unexported vmlinux global found in the target is a
# livepatch relocation against vmlinux.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
extern int usb_thing(int);
extern int hidden_global(int);
int caller(int x) { printk("caller\n"); return x; }
int unit_global(int x) { return x * 7; }
C
cat > "$t/patched.c" <<'C'
extern int printk(const char *fmt, ...);
extern int usb_thing(int);
extern int hidden_global(int);
int caller(int x) { printk("caller v2\n"); return usb_thing(x) + hidden_global(x); }
int unit_global(int x) { return x * 7; }
C
# A stand-in for vmlinux's symbol table: our unit plus a unit defining hidden_global.
printf 'int hidden_global(int x) { return x; }\n' > "$t/other.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kcc "$t/other.c" "$t/other.o"
ld -r -o "$t/vmlinux.o" "$t/orig.o" "$t/other.o"
printf '%s\n' $'0x1\tprintk\tvmlinux\tEXPORT_SYMBOL\t' $'0x2\t__fentry__\tvmlinux\tEXPORT_SYMBOL\t' \
	$'0x3\tusb_thing\tdrivers/usb/core/usb-core\tEXPORT_SYMBOL_GPL\t' > "$t/Module.symvers"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/vmlinux.o" --symvers "$t/Module.symvers"
expect_rc 0
[ "$(changed)" = caller ]
[ "$(jqr '.relocations.normal[].symbol' | sort | tr '\n' ' ')" = "__fentry__ printk " ]
jqr '.relocations.normal[] | select(.symbol == "printk") | .why' | has 'exported by vmlinux'
jqr '.relocations.klp[] | "\(.object) \(.symbol) \(.sympos)"' | sort > "$t/klp"
printf '%s\n' "usb_core usb_thing 0" "vmlinux hidden_global 0" > "$t/want"
diff "$t/want" "$t/klp"
jqr '.relocations.klp[] | select(.symbol == "usb_thing") | .why' | has 'exported by module usb_core'
out_sym .klp.sym.usb_core.usb_thing,0
out_sym .klp.sym.vmlinux.hidden_global,0
# Undefined symbols of the output are exactly the vmlinux exports.
[ "$(readelf -sW "$t/out.o" | awk '$7 == "UND" && $5 == "GLOBAL" {print $8}' | sort | tr '\n' ' ')" = "__fentry__ printk " ]
