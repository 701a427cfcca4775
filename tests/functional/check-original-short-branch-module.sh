#!/bin/bash
# As check-original-short-branch-vmlinux, with a module as the target (net/bridge's
# br_ip4_multicast_query_expired, 20 bytes in our object and 17 in Debian's bridge.ko: its
# tail call to br_multicast_query_expired.constprop.0 is `eb 8f` there). In a .ko the short
# jump carries no relocation: its destination is an offset in the module's own .text.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/check-original-common.sh"
cd "$t"
unit_c unit.c
kcc_kernel unit.c kernel.o
ld -r -o mod.ko kernel.o
kcc unit.c orig.o
objdump -d mod.ko --disassemble=wb_start | grep -E '^ *[0-9a-f]+:\s+eb [0-9a-f]{2}\s+jmp\s+[0-9a-f]+ <wb_wakeup>' >/dev/null
ours=$(readelf -sW orig.o | awk '$8 == "wb_start" {print $3}')
theirs=$(readelf -sW mod.ko | awk '$8 == "wb_start" {print $3}')
[ $((ours - theirs)) = 3 ]
"$KPATCH_GEN" diff orig.o orig.o -o out.o --target mod.ko --objname mod --check-original 2>err.txt || rc=$?
cat err.txt
[ "${rc:-0}" = 3 ]
has "size differs, same code: wb_start ($ours bytes here, $theirs in the target: the same instructions" <err.txt
