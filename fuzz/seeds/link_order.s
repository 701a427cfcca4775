# Seed: SHF_LINK_ORDER sections (sh_link to a code section), a NOBITS section, an absolute
# and a common symbol.
	.section .text.foo,"ax",@progbits
	.globl foo
foo:
	nop
	nop
	ret
	.section .text.bar,"ax",@progbits
bar:
	call foo
	ret
	.section __patchable_function_entries,"awo",@progbits,.text.foo
	.quad foo
	.section __patchable_function_entries,"awo",@progbits,.text.bar
	.quad bar
	.section .bss.buf,"aw",@nobits
buf:
	.zero 64
	.set abs_sym, 0x1234
	.globl abs_sym
	.comm common_sym, 16, 8
