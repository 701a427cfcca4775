#!/bin/bash
# Objects processed by objtool --mcount (or recordmcount) may start functions with the 5-byte
# NOP that replaced `call __fentry__`, possibly after an IBT endbr64; the site is then known
# only from __mcount_loc. Such a function is traceable and can be patched. The same NOP
# without a __mcount_loc entry is not an ftrace site: NO_FENTRY.
. "$(dirname "$0")/common.sh"
unit() { # unit IMM RECORD(yes|no) ENDBR(yes|no)
	cat <<S
	.section .text.nopfn,"ax",@progbits
	.globl nopfn
	.type nopfn, @function
nopfn:
S
	[ "$3" = yes ] && echo "	endbr64"
	cat <<S
.Lsite:	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00
	leal $1(%rdi), %eax
	ret
	.size nopfn, .-nopfn
S
	[ "$2" = yes ] && printf '\t.section __mcount_loc,"a",@progbits\n\t.quad .Lsite\n'
	true
}
for endbr in no yes; do
	unit 1 yes $endbr > "$t/o.s"
	unit 2 yes $endbr > "$t/p.s"
	kcc "$t/o.s" "$t/o.o"
	kcc "$t/p.s" "$t/p.o"
	kdiff "$t/o.o" "$t/p.o"
	expect_rc 0
	[ "$(changed)" = nopfn ]
	# The copy keeps its ftrace site record.
	[ "$(out_relocs __mcount_loc)" = "0 R_X86_64_64 nopfn + $([ $endbr = yes ] && echo 4 || echo 0)" ]
	unit 1 no $endbr > "$t/o.s"
	unit 2 no $endbr > "$t/p.s"
	kcc "$t/o.s" "$t/o.o"
	kcc "$t/p.s" "$t/p.o"
	kdiff "$t/o.o" "$t/p.o"
	expect_rc 1
	[ "$(refusal_codes)" = NO_FENTRY ]
done
