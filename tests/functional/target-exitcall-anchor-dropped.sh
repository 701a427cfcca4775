#!/bin/bash
# A built-in unit with module_exit(): 6.1 emits `static exitcall_t __exitcall_unit_exit
# __section(".exitcall.exit") = unit_exit;`, and vmlinux.lds' DISCARDS drops .exitcall.exit
# (a built-in unit is never unloaded), so the target's FILE block has unit_exit but no
# __exitcall_unit_exit (Debian's 6.1 vmlinux: net/unix/af_unix.c, __exitcall_af_unix_exit).
# Matching the unit's FILE block must not count that anchor as a missing local; a local that
# is really missing from the target is still refused.
. "$(dirname "$0")/common.sh"
mkdir -p "$t/o" "$t/p" "$t/other"
cat > "$t/o/unit.c" <<'C'
extern int printk(const char *fmt, ...);
typedef int (*initcall_t)(void);
typedef void (*exitcall_t)(void);
static int count;
static __attribute__((noinline)) int helper(int x) { count++; printk("helper %d\n", x); return x + count; }
int unit_entry(int x) { return helper(x); }
static __attribute__((section(".init.text"))) int unit_init(void) { return helper(1); }
static __attribute__((section(".exit.text"))) void unit_exit(void) { count = 0; }
/* module_init()/module_exit() of built-in code, as include/linux/init.h expands them */
static initcall_t __initcall_unit_init6 __attribute__((used, section(".initcall6.init"))) = unit_init;
static exitcall_t __exitcall_unit_exit __attribute__((used, section(".exitcall.exit"))) = unit_exit;
C
sed 's/"helper %d/"helper v2 %d/' "$t/o/unit.c" > "$t/p/unit.c"
for d in o p; do (cd "$t/$d" && kcc unit.c unit.o); done
# The unit's object has the anchor...
readelf -sW "$t/o/unit.o" | awk '{print $8}' | has -x __exitcall_unit_exit
# ...the linked "vmlinux" does not (the DISCARDS of include/asm-generic/vmlinux.lds.h), but
# keeps the exit function (x86 keeps .exit.text) and the initcall anchor.
cat > "$t/lds" <<'L'
SECTIONS {
	.text 0x100000 : { *(.text*) }
	.init.text : { *(.init.text) }
	.exit.text : { *(.exit.text) }
	.init.data : { *(.initcall6.init) }
	.data 0x300000 : { *(.data* .bss*) }
	.rodata 0x500000 : { *(.rodata*) }
	/DISCARD/ : { *(.exitcall.exit) *(.discard) *(.discard.*) *(__mcount_loc .comment .note*) }
}
L
ld -o "$t/vmlinux" -T "$t/lds" --unresolved-symbols=ignore-all "$t/o/unit.o" 2>/dev/null
readelf -sW "$t/vmlinux" | awk '{print $8}' > "$t/vmlinux.syms"
not grep -qx __exitcall_unit_exit "$t/vmlinux.syms"
grep -qx unit_exit "$t/vmlinux.syms"
grep -qx __initcall_unit_init6 "$t/vmlinux.syms"
kdiff "$t/o/unit.o" "$t/p/unit.o" --target "$t/vmlinux"
expect_rc 0
[ "$(jqr '.changed[] | "\(.name) \(.sympos)"')" = "helper 0" ]
[ "$(jqr '.relocations.klp[] | .symbol' | sort -u)" = "count" ]
out_sym .klp.sym.vmlinux.count,0
# The negative: a target built from a unit without one of our statics (`count` renamed) is
# another unit, refused with the local it lacks, and the dropped anchor is not listed.
sed 's/count/total/g' "$t/o/unit.c" > "$t/other/unit.c"
(cd "$t/other" && kcc unit.c unit.o)
ld -o "$t/other-vmlinux" -T "$t/lds" --unresolved-symbols=ignore-all "$t/other/unit.o" 2>/dev/null
kdiff "$t/o/unit.o" "$t/p/unit.o" --target "$t/other-vmlinux"
expect_rc 1
refusal_codes | has -x TARGET_SYMBOL_NOT_FOUND
jqr '.refusals[].message' | has "lacks 1 of this unit's 3 local names (count)"
[ ! -e "$t/out.o" ]
