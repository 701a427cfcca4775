#!/bin/bash
# .altinstructions (12-byte struct alt_instr) + .altinstr_replacement: the output keeps the
# alt_instr entries of the copied function only, with just their replacement code; the
# entry's instr_offset points into the copy, its repl_offset into the output's replacement
# section, and relocations inside the replacement (an ALTERNATIVE_CALL-style call) come
# along. A change of the replacement alone (same code) changes that function, and only it,
# even when it shifts the replacements of the other functions.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define alternative(oldinstr, newinstr, feature)			\
	asm volatile("661:\n\t" oldinstr "\n662:\n"			\
		     ".pushsection .altinstructions,\"a\"\n"		\
		     " .long 661b - .\n"				\
		     " .long 6641f - .\n"				\
		     " .word " #feature "\n"				\
		     " .byte 662b-661b\n"				\
		     " .byte 6651f-6641f\n"				\
		     ".popsection\n"					\
		     ".pushsection .altinstr_replacement,\"ax\"\n"	\
		     "6641:\n\t" newinstr "\n6651:\n"			\
		     ".popsection\n" ::: "memory")
#define NOP3 ".byte 0x0f,0x1f,0x00"
#define NOP5 ".byte 0x0f,0x1f,0x44,0x00,0x00"
int ha(int x) { alternative(NOP5, "clac", 308); return x + 1; }
int hb(int x)
{
	alternative(NOP3, "stac", 308);
	printk("hb %d\n", x);
	alternative(NOP5, "call hb_slowpath", 123);
	return x + 2;
}
int hc(int x) { alternative(NOP3, "lfence", 100); return x + 3; }
C
sed 's/"hb %d\\n"/"hb: %d\\n"/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
[ "$(sec_size .altinstructions "$t/patched.o")" = 48 ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = hb ]
[ "$(jqr '.special_sections[] | select(.section == ".altinstructions") | "\(.entries) \(.kept)"')" = "4 2" ]
[ "$(sec_size .altinstructions)" = 24 ]
# The replacement section holds exactly stac (0f 01 cb) and the 5-byte call (e8 + zeroed rel32).
[ "$(sec_size .altinstr_replacement)" = 8 ]
[ "$(sec_bytes .altinstr_replacement 0 8)" = 0f01cbe800000000 ]
[ "$(out_relocs .altinstr_replacement)" = "4 R_X86_64_PLT32 hb_slowpath - 4" ]
# Entry fields: instr_offset -> the copy of hb, repl_offset -> the replacement chunks.
out_relocs .altinstructions > "$t/rel"
cat "$t/rel"
[ "$(grep -c . "$t/rel")" = 4 ]
[ "$(awk '$1 == "4" || $1 == "10" {print $3, $4, $5}' "$t/rel" | tr '\n' ';')" = ".altinstr_replacement + 0;.altinstr_replacement + 3;" ]
awk '$1 == "0" || $1 == "c" {print $3}' "$t/rel" | sort -u | has_line hb
[ "$(awk '$1 == "0" || $1 == "c" {print $3}' "$t/rel" | sort -u | wc -l)" = 1 ]
# cpuid, instrlen, replacementlen of each kept entry: 308/3/3 and 123/5/5.
[ "$(sec_bytes .altinstructions 8 4)" = 34010303 ]
[ "$(sec_bytes .altinstructions 20 4)" = 7b000505 ]
# The old instructions at those sites are the NOPs of the copy.
for e in 0 c; do
	off=$(awk -v e=$e '$1 == e {print $5}' "$t/rel")
	[ "$(sec_bytes .text.hb $((16#$off)) 3)" = 0f1f00 ] || [ "$(sec_bytes .text.hb $((16#$off)) 5)" = 0f1f440000 ]
done
# Only the replacement of hc changes (lfence -> mfence): hc is changed, because of its entry.
sed 's/"lfence"/"mfence"/' "$t/orig.c" > "$t/repl.c"
kcc_pair "$t/orig.c" "$t/repl.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = hc ]
[ "$(jqr '.changed[0].reason.kind')" = special-entry ]
[ "$(sec_bytes .altinstr_replacement 0 3)" = 0faef0 ]
# ha's replacement grows (clac -> clac + 2 nops): every later replacement moves, but only ha
# changed.
sed 's/NOP5, "clac", 308/NOP5, "clac; nop; nop", 308/' "$t/orig.c" > "$t/grow.c"
kcc_pair "$t/orig.c" "$t/grow.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = ha ]
[ "$(sec_bytes .altinstr_replacement 0 5)" = 0f01ca9090 ]
