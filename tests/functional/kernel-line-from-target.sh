#!/bin/bash
# The special-section table is the one of the kernel line the target says it is (a module's
# .modinfo vermagic here), not assumed: an object whose only special section is 6.12's
# 14-byte struct alt_instr is read with 14-byte entries when the target is 6.12, and the
# changed function's entry is carried. Without the target nothing tells the line: 6.1's 12-byte
# entries do not fit the table, which is refused rather than mis-read. A --kernel-line that
# contradicts the target is an error naming both.
. "$(dirname "$0")/common.sh"
unit() { # unit IMM
	cat <<S
	.section .text.f,"ax",@progbits
	.globl f
	.type f, @function
f:
	call __fentry__
.Lorig:	.byte 0x90, 0x90, 0x90
	movl \$$1, %eax
	ret
	.size f, .-f
	.section .altinstr_replacement,"ax",@progbits
.Lrepl:	.byte 0x0f, 0x01, 0xcb
	.section .altinstructions,"a",@progbits
	.long .Lorig - .
	.long .Lrepl - .
	.word 0x0094		# cpuid (X86_FEATURE_SMAP)
	.word 0			# flags (6.12: u32 ft_flags = cpuid:16, flags:16)
	.byte 3			# instrlen
	.byte 3			# replacementlen
S
}
unit 1 > "$t/o.s"
unit 2 > "$t/p.s"
kcc "$t/o.s" "$t/orig.o"
kcc "$t/p.s" "$t/patched.o"
# The running module: the original code plus a .modinfo as modpost writes it.
printf '%s\n' '	.section .modinfo,"a",@progbits' \
	'	.asciz "license=GPL"' '	.asciz "vermagic=6.12.118+deb12-cloud-amd64 SMP preempt mod_unload modversions "' > "$t/modinfo.s"
kcc "$t/modinfo.s" "$t/modinfo.o"
ld -r "$t/orig.o" "$t/modinfo.o" -o "$t/target.ko"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/target.ko" --objname target
expect_rc 0
[ "$(jqr '.kernel_line.line')" = 6.12 ]
jqr '.kernel_line.why' | has 'release 6.12.118+deb12-cloud-amd64'
[ "$(changed)" = f ]
[ "$(jqr '.special_sections[] | select(.section == ".altinstructions") | .entry_size')" = 14 ]
[ "$(sec_size .altinstructions)" = 14 ]
# Nothing says 6.12: the 6.1 table, whose 12-byte entries do not fit.
kdiff "$t/orig.o" "$t/patched.o"
expect_rc 1
[ "$(jqr '.kernel_line.line')" = 6.1 ]
refusal_codes | has_line BAD_SPECIAL_SECTION
# The command line and the target disagree.
kdiff "$t/orig.o" "$t/patched.o" --target "$t/target.ko" --objname target --kernel-line 6.1 2> "$t/err"
expect_rc 1
has -F -- '--kernel-line says kernel 6.1, but' < "$t/err"
has -F -- 'target.ko: release 6.12.118+deb12-cloud-amd64 says 6.12' < "$t/err"
