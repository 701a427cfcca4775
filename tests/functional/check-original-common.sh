# shellcheck shell=bash
# Helpers for the check-original-* tests (sourced after common.sh): the builder's check that
# an original object reproduces the running kernel (`kpatch-gen diff --check-original`).
#
#   unit_c FILE [EXTRA]  writes a unit whose wb_start() ends in a tail call to a static
#                        wb_wakeup() defined just before it (fs/fs-writeback.c's
#                        wb_start_writeback -> wb_wakeup); EXTRA is one more C statement in
#                        wb_start() before the call
#   kcc_kernel SRC OUT   compile as kbuild does: the kernel's flags without
#                        -ffunction-sections -fdata-sections (one .text per unit)
#   link_vmlinux OBJ OUT link OBJ at the kernel's address, with stubs for what it calls
unit_c() {
	cat >"$1" <<C
struct wb { unsigned long state; int reason; };
void wake(struct wb *wb);
static __attribute__((noinline)) void wb_wakeup(struct wb *wb)
{
	wb->state |= 16;
	wake(wb);
}
void wb_start(struct wb *wb, int reason)
{
	if (!(wb->state & 4))
		return;
	if (wb->state & 8)
		return;
	wb->reason = reason;
	${2:-}
	wb_wakeup(wb);
}
C
}

kcc_kernel() {
	# shellcheck disable=SC2086
	gcc ${KFLAGS/-ffunction-sections -fdata-sections/} -c "$1" -o "$2"
}

link_vmlinux() {
	printf '.text\n.globl __fentry__, wake\n__fentry__: ret\nwake: ret\n.section .note.GNU-stack,"",@progbits\n' >"$t/stub.s"
	gcc -c "$t/stub.s" -o "$t/stub.o"
	ld -e 0 -Ttext=0xffffffff81000000 "$1" "$t/stub.o" -o "$2"
}
