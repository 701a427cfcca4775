#!/bin/bash
# Assembly functions in a shared .text jump to a local label inside a NOTYPE code symbol
# (arch/x86/lib/putuser.S: every __put_user_N jumps to .Lbad_put_user inside
# __put_user_handle_exception), or to code no symbol covers (copy_user_64.S jumps to
# .Lcopy_user_handle_tail, a .L label that is not in the symbol table). Raw branches are
# compared by the symbol they land in -- by name when it has no twin -- or by the closest
# symbol before them, so the object diffed against itself has no change (the lab's vmlinux.o
# had 13 false changes), and a changed caller's copy reaches the running kernel's label
# through a relocation.
. "$(dirname "$0")/common.sh"
unit() {
	cat <<S
	.text
	.globl put1
	.type put1, @function
put1:
	call __fentry__
	cmpq \$10, %rdi
	{disp32} jae .Lbad
	xorl %eax, %eax
	ret
	.size put1, .-put1
	.globl put2
	.type put2, @function
put2:
	call __fentry__
	cmpq \$$1, %rdi
	{disp32} jae .Lbad
	xorl %eax, %eax
	ret
	.size put2, .-put2
handle_exception:
	nop
.Lbad:
	movl \$-14, %eax
	ret
	.size handle_exception, .-handle_exception
	.globl put3
	.type put3, @function
put3:
	call __fentry__
	testq %rdi, %rdi
	{disp32} jne .Ltail
	ret
	.size put3, .-put3
	nop
.Ltail:
	movl \$-1, %eax
	ret
	.section __mcount_loc,"a",@progbits
	.quad put1
	.quad put2
	.quad put3
S
}
unit 20 > "$t/orig.s"
unit 30 > "$t/patched.s"
kcc "$t/orig.s" "$t/orig.o"
kcc "$t/patched.s" "$t/patched.o"
readelf -sW "$t/orig.o" | awk '$8 == "handle_exception" {print $4, $5}' | has -x 'NOTYPE LOCAL'
kdiff "$t/orig.o" "$t/orig.o"
expect_rc 3
[ "$(jqr '.changed | length')" = 0 ]
kdiff "$t/orig.o" "$t/patched.o"
expect_rc 0
[ "$(changed)" = put2 ]
# The jae's rel32 in the copy: a livepatch relocation to handle_exception + 1 (.Lbad) - 4.
[ "$(jqr '.relocations.klp[] | "\(.section)+\(.offset) \(.symbol) \(.type) \(.addend)"')" = ".text.put2+11 handle_exception R_X86_64_PC32 -3" ]
