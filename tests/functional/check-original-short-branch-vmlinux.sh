#!/bin/bash
# The builder compiles the original objects with -ffunction-sections, kbuild without: a tail
# call to a static function of the same unit is then a jump inside one .text that the
# assembler encodes as `jmp rel8` (eb xx, 2 bytes) in the kernel, and as `jmp rel32` with a
# relocation (5 bytes) in our object. Debian 6.1.0-53's wb_start_writeback is 46 bytes in
# the original object and 43 in vmlinux for exactly this reason. The size check accepts it:
# the instructions are the same one for one, and the jump goes to the same function.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/check-original-common.sh"
cd "$t"
unit_c unit.c
kcc_kernel unit.c kernel.o
link_vmlinux kernel.o vmlinux
kcc unit.c orig.o
# The premise: in vmlinux the tail call is a short jmp, in our object a long one, and the
# function is 3 bytes longer here.
objdump -d vmlinux --disassemble=wb_start | grep -E '^ *[0-9a-f]+:\s+eb [0-9a-f]{2}\s+jmp\s+[0-9a-f]+ <wb_wakeup>' >/dev/null
objdump -dr orig.o -j .text.wb_start | grep -E 'R_X86_64_(PC|PLT)32\s+\.?(text\.)?wb_wakeup' >/dev/null
ours=$(readelf -sW orig.o | awk '$8 == "wb_start" {print $3}')
theirs=$(readelf -sW vmlinux | awk '$8 == "wb_start" {print $3}')
[ $((ours - theirs)) = 3 ]
"$KPATCH_GEN" diff orig.o orig.o -o out.o --target vmlinux --check-original 2>err.txt || rc=$?
cat err.txt
# The same code, so no mismatch: the diff of the unit against itself runs (no change).
[ "${rc:-0}" = 3 ]
has "size differs, same code: wb_start ($ours bytes here, $theirs in the target: the same instructions" <err.txt
