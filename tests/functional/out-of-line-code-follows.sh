#!/bin/bash
# Code an `asm` block pushes into another section without a symbol -- a .fixup chunk named by
# an __ex_table entry (kernels before 5.17), a .text..refcount chunk the function jumps to
# (4.x) -- follows its function into the output, with the table entries that describe it,
# instead of an INTERNAL "reference to .fixup+0x.. which is not in the output". Each chunk is
# compared on its own: another function's chunk growing and moving it changes nothing.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define get_user_fixup(val, ptr, err, fixup)			\
	asm volatile("1: movl (%2), %1\n"			\
		     "2:\n"					\
		     ".pushsection .fixup,\"ax\"\n"		\
		     "3: " fixup "\n"				\
		     " xorl %1, %1\n"				\
		     " jmp 2b\n"				\
		     ".popsection\n"				\
		     ".pushsection __ex_table,\"a\"\n"		\
		     " .balign 4\n .long 1b - .\n .long 3b - .\n .long 0\n" \
		     ".popsection\n"				\
		     : "+r"(err), "=r"(val) : "r"(ptr))
#define refcount_inc(cnt)					\
	asm volatile("lock incl %0\n"				\
		     " js 111f\n"				\
		     "113:\n"					\
		     ".pushsection .text..refcount,\"ax\"\n"	\
		     "111: lea %0, %%rcx\n"			\
		     "112: ud2\n"				\
		     ".popsection\n"				\
		     ".pushsection __ex_table,\"a\"\n"		\
		     " .balign 4\n .long 112b - .\n .long 113b - .\n .long 2\n" \
		     ".popsection\n"				\
		     : "+m"(*(cnt)) :: "rcx", "cc")
int getw(const int *p) { int e = 0, v; get_user_fixup(v, p, e, "movl $-14, %0"); printk("w\n"); return e ? e : v; }
int getv(const int *p) { int e = 0, v; get_user_fixup(v, p, e, "movl $-14, %0"); return e ? e : v * 2; }
void take(int *cnt) { refcount_inc(cnt); printk("took\n"); }
void drop(int *cnt) { refcount_inc(cnt); printk("dropped\n"); }
C
kcc "$t/orig.c" "$t/orig.o"
[ "$(sec_size .fixup "$t/orig.o")" -gt 0 ]
[ "$(sec_size .text..refcount "$t/orig.o")" -gt 0 ]

# 1. getw's printk changes: its .fixup chunk (and only its) comes along.
sed 's/printk("w\\n")/printk("w!\\n")/' "$t/orig.c" > "$t/p1.c"
kcc_pair "$t/orig.c" "$t/p1.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = getw ]
[ "$(jqr '.included[] | select(.kind == "out-of-line code") | "\(.section) \(.range)"')" = ".fixup 0x0-0xc" ]
[ "$(sec_size .fixup)" = 12 ]
# The ex_table entry's fixup field points at the chunk's copy; the chunk jumps back into getw's copy.
out_relocs __ex_table | has '^4 R_X86_64_PC32 .fixup + 0$'
out_relocs .fixup | has 'R_X86_64_PC32 getw'

# 2. Only getw's fixup changes, and grows: getv's chunk moves but is the same. getw changes
# because its entry now names other fixup code.
sed 's/v, p, e, "movl $-14, %0"); printk/v, p, e, "movl $-14, %0\\n movl $-14, %0"); printk/' "$t/orig.c" > "$t/p2.c"
grep -q 'movl $-14, %0\\n movl' "$t/p2.c"
kcc_pair "$t/orig.c" "$t/p2.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = getw ]
[ "$(jqr '.changed[0].reason.kind')" = special-entry ]
[ "$(jqr '.included[] | select(.kind == "out-of-line code") | .range')" = 0x0-0x11 ]

# 3. drop changes: its .text..refcount chunk comes along, and the ex_table entry of the ud2
# inside the chunk (its owner field points into the chunk, not into drop) with it.
sed 's/"dropped\\n"/"dropped!\\n"/' "$t/orig.c" > "$t/p3.c"
kcc_pair "$t/orig.c" "$t/p3.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = drop ]
[ "$(jqr '.included[] | select(.kind == "out-of-line code") | .section')" = .text..refcount ]
[ "$(sec_size .text..refcount)" = 5 ]
[ "$(jqr '.special_sections[] | select(.section == "__ex_table") | .kept')" = 1 ]
out_relocs __ex_table | has '^0 R_X86_64_PC32 .text..refcount + 3$'
out_relocs .text.drop | has 'R_X86_64_PC32 .text..refcount'
