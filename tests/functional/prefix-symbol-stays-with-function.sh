#!/bin/bash
# An object objtool has processed on 6.12 (a single-object module's .o, CONFIG_PREFIX_SYMBOLS)
# has a 16-byte STT_FUNC `__pfx_<fn>` over the NOP padding before each function. It is part of
# its function, not a function of its own: when bar changes, only bar is changed (no
# klp_func for __pfx_bar), and bar's copy keeps the padding in front of it (the section is
# copied whole, bar 16 bytes in), where call depth tracking writes its accounting thunk. The
# prefix symbol itself is not carried: objtool adds one at the patch module's link.
. "$(dirname "$0")/common.sh"
unit() { # unit IMM
	for f in foo bar; do
		cat <<S
	.section .text.$f,"ax",@progbits
	.globl __pfx_$f
	.type __pfx_$f, @function
__pfx_$f:
	.fill 16, 1, 0x90
	.size __pfx_$f, 16
	.globl $f
	.type $f, @function
$f:
	endbr64
	call __fentry__
S
		if [ $f = bar ]; then echo "	leal $1(%rdi), %eax"; else echo "	call bar"; fi
		printf '\tret\n\t.size %s, .-%s\n' $f $f
	done
}
unit 5 > "$t/o.s"
unit 6 > "$t/p.s"
kcc "$t/o.s" "$t/orig.o"
kcc "$t/p.s" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o"
expect_rc 0
[ "$(changed)" = bar ]
[ "$(jqr '.included[] | .symbol // .section' | sort | tr '\n' ' ')" = "bar " ]
[ "$(sec_bytes .text.bar 0 20)" = "90909090909090909090909090909090f30f1efa" ]
readelf -sW "$t/out.o" > "$t/out.syms"
[ "$(awk '$8 == "bar" {print $2}' "$t/out.syms")" = 0000000000000010 ]
not grep -F __pfx_ "$t/out.syms"
