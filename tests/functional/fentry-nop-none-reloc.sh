#!/bin/bash
# objtool --mnop (and recordmcount on some kernels) turns `call __fentry__` into a 5-byte NOP
# and its relocation into R_X86_64_NONE against __fentry__. Objects from such a build may lack
# __mcount_loc: the NOP with that relocation is still an ftrace site, so the function can be
# patched (with or without an IBT endbr64 before it). The same NOP with a NONE relocation to
# another symbol is not: NO_FENTRY.
. "$(dirname "$0")/common.sh"
unit() { # unit IMM ENDBR(yes|no) SYMBOL
	cat <<S
	.section .text.nopfn,"ax",@progbits
	.globl nopfn
	.type nopfn, @function
nopfn:
S
	[ "$2" = yes ] && echo "	endbr64"
	cat <<S
.Lsite:	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00
	.reloc .Lsite + 1, R_X86_64_NONE, $3
	leal $1(%rdi), %eax
	ret
	.size nopfn, .-nopfn
S
}
for endbr in no yes; do
	unit 1 $endbr __fentry__ > "$t/o.s"
	unit 2 $endbr __fentry__ > "$t/p.s"
	kcc "$t/o.s" "$t/o.o"
	kcc "$t/p.s" "$t/p.o"
	readelf -rW "$t/o.o" | has 'R_X86_64_NONE .* __fentry__'
	[ -z "$(sec_size __mcount_loc "$t/o.o")" ]
	kdiff "$t/o.o" "$t/p.o"
	expect_rc 0
	[ "$(changed)" = nopfn ]
	unit 1 $endbr other_symbol > "$t/o.s"
	unit 2 $endbr other_symbol > "$t/p.s"
	kcc "$t/o.s" "$t/o.o"
	kcc "$t/p.s" "$t/p.o"
	kdiff "$t/o.o" "$t/p.o"
	expect_rc 1
	[ "$(refusal_codes)" = NO_FENTRY ]
done
