#!/bin/bash
# ORC unwind data (objtool's .orc_unwind_ip: 4-byte PC-relative addresses; .orc_unwind: the
# 6-byte struct orc_entry at the same index) and the .return_sites list: the output keeps the
# entries of the copied function only, ip entries relocated to the copy and each paired with
# its own orc_entry, in the same order. Without them the reliable unwinder fails inside the
# copy and the livepatch transition never finishes.
. "$(dirname "$0")/common.sh"
unit() { # unit MESSAGE: three functions as objtool leaves them (ORC, return thunk sites)
	cat <<S
	.section .rodata.str1.1,"aMS",@progbits,1
.Lmsg:	.string "$1"
S
	for f in fa fb fc; do
		cat <<S
	.section .text.$f,"ax",@progbits
	.globl $f
	.type $f, @function
$f:
	call __fentry__
	pushq %rbx
.L${f}_1:
	movq \$.Lmsg, %rdi
	call printk
	popq %rbx
.L${f}_2:
	jmp __x86_return_thunk
.L${f}_ret:
	.size $f, .-$f
	.section __mcount_loc,"a",@progbits
	.quad $f
	.section .return_sites,"a",@progbits
	.long .L${f}_2 - .
	.section .orc_unwind_ip,"a",@progbits
	.long $f - .
	.long .L${f}_1 - .
	.long .L${f}_2 - .
	.long .L${f}_ret - .
	.section .orc_unwind,"a",@progbits
S
		# Four distinct orc_entries per function, tagged with the function's letter.
		local c=$(printf '%d' "'${f:1}")
		for k in 1 2 3 4; do echo "	.byte $c, $k, 0, 0, 0x15, 0x$k"; done
	done
}
unit "same" > "$t/orig.s"
unit "same" | sed '/^fb:/,/\.size fb/ s/\$\.Lmsg, %rdi/$.Lmsg+1, %rdi/' > "$t/patched.s"
kcc "$t/orig.s" "$t/orig.o"
kcc "$t/patched.s" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o"
expect_rc 0
[ "$(changed)" = fb ]
[ "$(jqr '.special_sections[] | select(.section == ".orc_unwind_ip") | "\(.entries) \(.kept)"')" = "12 4" ]
[ "$(sec_size .orc_unwind_ip)" = 16 ]
[ "$(sec_size .orc_unwind)" = 24 ]
# ip entries: fb+0, fb+6, fb+0x13 (the jmp), fb+0x18 (the end).
[ "$(out_relocs .orc_unwind_ip | tr '\n' ';')" = "0 R_X86_64_PC32 fb + 0;4 R_X86_64_PC32 fb + 6;8 R_X86_64_PC32 fb + 13;c R_X86_64_PC32 fb + 18;" ]
# ... each with fb's orc_entry of the same index ('b' = 0x62).
for k in 1 2 3 4; do
	[ "$(sec_bytes .orc_unwind $((6 * (k - 1))) 6)" = "62$(printf '%02x' $k)0000150$k" ]
done
# .return_sites: the one site of fb, at its jmp to the return thunk.
[ "$(out_relocs .return_sites)" = "0 R_X86_64_PC32 fb + 13" ]
