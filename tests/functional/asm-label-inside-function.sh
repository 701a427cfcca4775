#!/bin/bash
# arch/x86/lib/putuser.S: __put_user_1 (FUNC, size 30) contains the global NOTYPE label
# __put_user_nocheck_1 (callers enter there), followed by `jmp __x86_return_thunk`; its
# error path jumps into the NOTYPE __put_user_handle_exception. The relocation after the label
# belongs to __put_user_1: finding its instruction must not stop at the size-less label (that
# decoded the whole section under the function's cache key and freed the function's
# instructions while they were compared: a crash on the lab's putuser.o against itself).
# A changed put1 is copied with the label's relocation in place and its raw jump to the
# handler as a livepatch relocation. A raw jump to code no symbol covers (past the end of
# put2) cannot be pointed anywhere: refused, instead of landing on the end of put2's copy.
. "$(dirname "$0")/common.sh"
unit() { # unit PUT2-LIMIT
	cat <<S
	.text
	.globl put1
	.type put1, @function
put1:
	call __fentry__
	movabsq \$0x7ffffffff000, %rbx
	cmpq %rbx, %rcx
	{disp32} jae .Lbad
	.globl put1_nocheck
put1_nocheck:
	movb %al, (%rcx)
	xorl %ecx, %ecx
	jmp __x86_return_thunk
	.size put1, .-put1
	.globl put2
	.type put2, @function
put2:
	call __fentry__
	cmpq \$$1, %rcx
	{disp32} jae .Ltail
	xorl %ecx, %ecx
	jmp __x86_return_thunk
	.size put2, .-put2
handle_exception:
	nop
.Lbad:
	movl \$-14, %ecx
	jmp __x86_return_thunk
	.size handle_exception, .-handle_exception
.Ltail:
	movl \$-1, %ecx
	jmp __x86_return_thunk
	.section __mcount_loc,"a",@progbits
	.quad put1
	.quad put2
S
}
unit 8 > "$t/orig.s"
unit 8 | sed 's/movb %al, (%rcx)/movw %ax, (%rcx)/' > "$t/put1.s"
unit 9 > "$t/put2.s"
for f in orig put1 put2; do kcc "$t/$f.s" "$t/$f.o"; done
readelf -sW "$t/orig.o" | awk '$8 == "put1_nocheck" {print $3, $4}' | has -x '0 NOTYPE'
kdiff "$t/orig.o" "$t/orig.o"
expect_rc 3
kdiff "$t/orig.o" "$t/put1.o"
expect_rc 0
[ "$(changed)" = put1 ]
# The return-thunk jump after the label is relocated in the copy.
jmp_at=$(objdump -d --section=.text.put1 "$t/out.o" | awk '/jmp/ && /e9 00 00 00 00/ {sub(":", "", $1); print $1}')
[ -n "$jmp_at" ]
out_relocs .text.put1 | has -x "$(printf '%x' $((16#$jmp_at + 1))) R_X86_64_PLT32 __x86_return_thunk - 4"
# The jae to .Lbad: handle_exception + 1 (the nop) - 4, in the running kernel.
[ "$(jqr '.relocations.klp[] | "\(.symbol) \(.type) \(.addend)"')" = "handle_exception R_X86_64_PC32 -3" ]
kdiff "$t/orig.o" "$t/put2.o"
expect_rc 1
[ "$(refusal_codes | sort -u)" = UNSUPPORTED_RELOCATION ]
jqr '.refusals[0].message' | has 'which no function or label of the shared section .text covers'
[ "$(jqr '.refusals[0].location.symbol')" = put2 ]
