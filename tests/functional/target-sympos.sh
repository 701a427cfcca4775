#!/bin/bash
# Two units named unit.c each have a static helper() and a static `count` (the kernel has
# dozens of core.c with static helpers of the same name). With --target, the diff finds our
# unit's FILE block by its local names and computes sympos as 6.1 does: for a linked kernel
# (ET_EXEC) the rank by address among same-named kallsyms entries, for a module (ET_REL) the
# rank in symtab order. The replaced function's sympos is in its alias and the report; the
# static it uses gets a livepatch relocation with its own sympos.
. "$(dirname "$0")/common.sh"
mkdir -p "$t/a" "$t/b" "$t/p"
cat > "$t/a/unit.c" <<'C'
extern int printk(const char *fmt, ...);
static int count;
static __attribute__((noinline)) int helper(int x) { count++; printk("a helper %d\n", x); return x + count; }
static int only_in_a;
int a_entry(int x) { only_in_a++; return helper(x) + only_in_a; }
C
sed -e 's/a helper/b helper/' -e 's/only_in_a/only_in_b/g' -e 's/a_entry/b_entry/' "$t/a/unit.c" > "$t/b/unit.c"
sed 's/a helper %d/a helper v2 %d/' "$t/a/unit.c" > "$t/p/unit.c"
for d in a b p; do (cd "$t/$d" && kcc unit.c unit.o); done
# Module-like target: b's block first in the symtab.
ld -r -o "$t/mod.ko" "$t/b/unit.o" "$t/a/unit.o"
# Linked target: b's block first in the symtab, but a's text and data at lower addresses.
cat > "$t/lds" <<'L'
SECTIONS {
	.textb 0x200000 : { */b/unit.o(.text*) }
	.texta 0x100000 : { */a/unit.o(.text*) }
	.datab 0x400000 : { */b/unit.o(.data* .bss*) }
	.dataa 0x300000 : { */a/unit.o(.data* .bss*) }
	.rodata 0x500000 : { *(.rodata*) }
	/DISCARD/ : { *(__mcount_loc .comment .note*) }
}
L
ld -o "$t/vmlinux" -T "$t/lds" --unresolved-symbols=ignore-all "$t/b/unit.o" "$t/a/unit.o" 2>/dev/null
readelf -hW "$t/vmlinux" | has 'EXEC'
# The premise: in both targets, b's helper comes first in symtab order.
for f in mod.ko vmlinux; do
	[ "$(readelf -sW "$t/$f" | awk '$8 == "helper" || $8 == "only_in_a" || $8 == "only_in_b" {print $8}' | tr '\n' ' ')" = "helper only_in_b helper only_in_a " ]
done
kdiff "$t/a/unit.o" "$t/p/unit.o" --target "$t/mod.ko" --objname mod
expect_rc 0
[ "$(jqr '.changed[] | "\(.name) \(.sympos) \(.alias)"')" = "helper 2 __kpg_new.mod.helper.2" ]
[ "$(jqr '.relocations.klp[] | "\(.symbol) \(.sympos)"' | sort -u)" = "count 2" ]
out_sym .klp.sym.mod.count,2
kdiff "$t/a/unit.o" "$t/p/unit.o" --target "$t/vmlinux"
expect_rc 0
[ "$(jqr '.changed[] | "\(.name) \(.sympos) \(.alias)"')" = "helper 1 __kpg_new.vmlinux.helper.1" ]
[ "$(jqr '.relocations.klp[] | "\(.symbol) \(.sympos)"' | sort -u)" = "count 1" ]
out_sym .klp.sym.vmlinux.count,1
# Without our unit in the target, the diff refuses instead of guessing.
ld -r -o "$t/other.ko" "$t/b/unit.o"
kdiff "$t/a/unit.o" "$t/p/unit.o" --target "$t/other.ko" --objname mod
expect_rc 1
refusal_codes | has -x TARGET_SYMBOL_NOT_FOUND
jqr '.refusals[].message' | has "lacks 1 of this unit's 3 local names (only_in_a)"
[ ! -e "$t/out.o" ]
