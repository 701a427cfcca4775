#!/bin/bash
# A size difference is tolerated only for the same instructions: a target built from other
# source (here one more store before the tail call, a few bytes whichever way the jump is
# encoded) is still "the original objects do not match", and the message shows the first
# instruction that differs.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/check-original-common.sh"
cd "$t"
mkdir k
unit_c k/unit.c 'wb->state |= 32;'
(cd k && kcc_kernel unit.c ../kernel.o) # the same file name: the same FILE symbol
link_vmlinux kernel.o vmlinux
unit_c unit.c
kcc unit.c orig.o
rc=0
"$KPATCH_GEN" diff orig.o orig.o -o out.o --target vmlinux --check-original 2>err.txt || rc=$?
cat err.txt
[ "$rc" = 1 ]
has "the original object does not match the target: orig.o: functions differ in size from the target kernel: wb_start (" <err.txt
has " here, " <err.txt
not test -e out.o
