#!/bin/bash
# A function in a COMDAT group (.section ...,"axG",@progbits,sig,comdat -- C++ inline
# functions, some compiler-generated helpers) may be the copy of another unit at link time:
# changing it is refused with COMDAT_CHANGED naming the function and the group. A change to
# an ordinary function of the same object is fine.
. "$(dirname "$0")/common.sh"
unit() { # unit COMDAT-IMM PLAIN-IMM
	cat <<S
	.section .text.shared_helper,"axG",@progbits,shared_helper,comdat
	.weak shared_helper
	.type shared_helper, @function
shared_helper:
	call __fentry__
	leal $1(%rdi), %eax
	ret
	.size shared_helper, .-shared_helper
	.section .text.plain,"ax",@progbits
	.globl plain
	.type plain, @function
plain:
	call __fentry__
	leal $2(%rdi), %eax
	ret
	.size plain, .-plain
S
}
unit 1 2 > "$t/orig.s"
unit 5 2 > "$t/comdat.s"
unit 1 7 > "$t/plain.s"
for f in orig comdat plain; do kcc "$t/$f.s" "$t/$f.o"; done
readelf -gW "$t/orig.o" | has 'COMDAT group section \[.*\] `.group'"'"' \[shared_helper\]'
kdiff "$t/orig.o" "$t/comdat.o"
expect_rc 1
[ "$(refusal_codes)" = COMDAT_CHANGED ]
[ "$(jqr '.refusals[0].location.symbol')" = shared_helper ]
jqr '.refusals[0].message' | has "inside COMDAT group 'shared_helper'"
[ ! -e "$t/out.o" ]
kdiff "$t/orig.o" "$t/plain.o"
expect_rc 0
[ "$(changed)" = plain ]
not out_sym shared_helper
