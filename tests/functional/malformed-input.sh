#!/bin/bash
# Damaged or unsuitable inputs end with exit 1 and a message naming the file (and the
# section or symbol at fault), never a crash or an out-of-bounds read: truncated, not ELF,
# 32-bit, linked instead of relocatable, stripped, a symbol larger than its section, a
# relocation against a symbol that does not exist, an alternative whose replacement runs
# past .altinstr_replacement.
. "$(dirname "$0")/common.sh"
cat > "$t/a.c" <<'C'
extern int printk(const char *fmt, ...);
#define ALT(old, new) asm volatile("661:\n\t" old "\n662:\n.pushsection .altinstructions,\"a\"\n"	\
	" .long 661b - .\n .long 6641f - .\n .word 308\n .byte 662b-661b\n .byte 6651f-6641f\n"	\
	".popsection\n.pushsection .altinstr_replacement,\"ax\"\n6641:\n\t" new "\n6651:\n.popsection\n")
int fa(int x) { ALT(".byte 0x0f,0x1f,0x00", "clac"); printk("fa %d\n", x); return x + 1; }
int fb(int x) { return x * 3; }
C
kcc "$t/a.c" "$t/a.o"
# poke FILE OFFSET BYTES...: overwrite bytes (hex) at a file offset.
poke() { local f=$1 off=$2; shift 2; printf "$(printf '\\x%s' "$@")" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none; }
# File offset of a section's contents, and of symbol NAME's entry in .symtab.
sec_off() { readelf -SW "$1" | sed -n 's/^ *\[ *[0-9]*\] *//p' | awk -v n="$2" '$1 == n {print $4}'; }
sym_entry() { echo $((16#$(sec_off "$1" .symtab) + 24 * $(readelf -sW "$1" | awk -v n="$2" '$8 == n {sub(":", "", $1); print $1}'))); }
check() { # check FILE PATTERN: diffing a.o against FILE fails cleanly, naming FILE
	kdiff "$t/a.o" "$1"
	expect_rc 1
	[ "$(jqr .result)" = error ] || [ "$(jqr .result)" = refused ]
	jqr '.refusals[0].location.file' | has -F "$(basename "$1")"
	jqr '.refusals[0].message' | has -- "$2"
	[ ! -e "$t/out.o" ]
}
head -c 200 "$t/a.o" > "$t/truncated.o"
check "$t/truncated.o" 'truncated'
echo 'not an object' > "$t/text.o"
check "$t/text.o" 'not an ELF file'
if gcc -m32 -ffreestanding -c "$t/a.c" -o "$t/a32.o" 2>/dev/null; then
	check "$t/a32.o" '64-bit'
fi
ld -e 0 --unresolved-symbols=ignore-all -o "$t/linked" "$t/a.o" 2>/dev/null
check "$t/linked" 'not a relocatable object'
strip -o "$t/stripped.o" "$t/a.o"
check "$t/stripped.o" 'no symbol table'
# st_size of fb: 64 KiB.
cp "$t/a.o" "$t/bigsym.o"
poke "$t/bigsym.o" $(($(sym_entry "$t/bigsym.o" fb) + 16)) 00 00 01 00 00 00 00 00
check "$t/bigsym.o" 'symbol fb at 0x0 with size 0x10000 lies outside its section .text.fb'
[ "$(jqr '.refusals[0].location.symbol')" = fb ]
# r_info of the first relocation of .text.fa: symbol 0x7777.
cp "$t/a.o" "$t/badrel.o"
poke "$t/badrel.o" $((16#$(sec_off "$t/badrel.o" .rela.text.fa) + 12)) 77 77 00 00
check "$t/badrel.o" 'refers to symbol 30583, out of range'
[ "$(jqr '.refusals[0].location.section')" = .rela.text.fa ]
# replacementlen of the alternative: 255 bytes.
cp "$t/a.o" "$t/badalt.o"
poke "$t/badalt.o" $((16#$(sec_off "$t/badalt.o" .altinstructions) + 11)) ff
check "$t/badalt.o" 'replacement (255 bytes at .altinstr_replacement) is not inside .altinstr_replacement'
[ "$(refusal_codes)" = BAD_SPECIAL_SECTION ]
# The same checks apply to the original side.
kdiff "$t/bigsym.o" "$t/a.o"
expect_rc 1
jqr '.refusals[0].location.file' | has bigsym.o
