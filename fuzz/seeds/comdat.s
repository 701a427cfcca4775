# Seed: COMDAT section groups, one with a relocation section member and a data member.
	.section .text.foo,"axG",@progbits,foo,comdat
	.globl foo
	.type foo,@function
foo:
	call bar
	ret
	.size foo, .-foo
	.section .data.foo_state,"awG",@progbits,foo,comdat
	.quad foo
	.section .text.bar,"axG",@progbits,bar,comdat
	.weak bar
	.type bar,@function
bar:
	ret
