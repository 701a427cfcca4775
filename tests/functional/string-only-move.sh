#!/bin/bash
# String literals are compared by contents, not by place: fb's "shared %d\n" lives in
# .rodata.fa.str1.1 (gcc puts a literal with its first user), so a patch to fa that adds a
# string in front of it -- or stops using it, which moves it to fb's own section -- changes
# where fb's string is but not fb. A string-table reorder with no code change is no change.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
int fa(int x) { printk("shared %d\n", x); printk("fa only\n"); return x; }
int fb(int x) { printk("shared %d\n", x); return x + 1; }
C
cat > "$t/front.c" <<'C'
extern int printk(const char *fmt, ...);
int fa(int x) { printk("a brand new first string\n"); printk("shared %d\n", x); printk("fa only\n"); return x; }
int fb(int x) { printk("shared %d\n", x); return x + 1; }
C
cat > "$t/gone.c" <<'C'
extern int printk(const char *fmt, ...);
int fa(int x) { printk("fa only\n"); return x; }
int fb(int x) { printk("shared %d\n", x); return x + 1; }
C
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/front.c" "$t/front.o"
kcc "$t/gone.c" "$t/gone.o"
# Premise: fb's string is in fa's string section in orig, at another offset in front.o, and
# in fb's own section in gone.o.
out_relocs .text.fb "$t/orig.o" | has 'R_X86_64_32S .rodata.fa.str1.1 + 0$'
out_relocs .text.fb "$t/front.o" | has 'R_X86_64_32S .rodata.fa.str1.1 + 1a$'
out_relocs .text.fb "$t/gone.o" | has 'R_X86_64_32S .rodata.fb.str1.1 + 0$'
for p in front gone; do
	kdiff "$t/orig.o" "$t/$p.o" --target "$t/orig.o"
	expect_rc 0
	[ "$(changed)" = fa ]
	not out_sym fb
done
# Same code, the string table emitted in another order (assembly: only the addends differ).
asm_unit() { # asm_unit FIRST SECOND
	cat <<S
	.section .rodata.str1.1,"aMS",@progbits,1
.LCa:	.string "$1"
.LCb:	.string "$2"
	.section .text.hello,"ax",@progbits
	.globl hello
	.type hello, @function
hello:
	call __fentry__
	movq \$.LC${3}, %rdi
	call printk
	movq \$.LC${4}, %rdi
	jmp printk
	.size hello, .-hello
	.section __mcount_loc,"a",@progbits
	.quad hello
S
}
asm_unit "one\n" "two\n" a b > "$t/o.s"
asm_unit "two\n" "one\n" b a > "$t/p.s"
kcc "$t/o.s" "$t/so.o"
kcc "$t/p.s" "$t/sp.o"
[ "$(out_relocs .text.hello "$t/so.o" | awk '$3 == ".rodata.str1.1" {print $5}' | tr '\n' ' ')" = "0 5 " ]
[ "$(out_relocs .text.hello "$t/sp.o" | awk '$3 == ".rodata.str1.1" {print $5}' | tr '\n' ' ')" = "5 0 " ]
kdiff "$t/so.o" "$t/sp.o"
expect_rc 3
# ...while another string at the same place is a change.
asm_unit "one\n" "tw0\n" a b > "$t/c.s"
kcc "$t/c.s" "$t/sc.o"
kdiff "$t/so.o" "$t/sc.o"
expect_rc 0
[ "$(changed)" = hello ]
