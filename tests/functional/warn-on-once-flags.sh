#!/bin/bash
# WARN_ON() -> WARN_ON_ONCE() on x86 generates the same code: only the flags of the
# bug_entry differ (BUGFLAG_ONCE). That is a functional change of the function owning the
# entry (the kernel reads the flags when the ud2 traps), found by comparing its __bug_table
# entries; the output carries the entry with the new flags. Neighbours are untouched.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#define BUGFLAG_WARNING (1 << 0)
#define BUGFLAG_ONCE (1 << 1)
#define BUGFLAG_TAINT(t) ((t) << 8)
#define TAINT_WARN 9
#define __WARN_FLAGS(flags) asm volatile("1: ud2\n"				\
	".pushsection __bug_table,\"aw\"\n2: .long 1b - .\n .long %c0 - .\n"	\
	" .word %c1, %c2\n .org 2b+12\n.popsection\n" :: "i"(__FILE__), "i"(__LINE__), "i"(flags))
#define WARN_ON(c) ({ int __r = !!(c); if (__r) __WARN_FLAGS(BUGFLAG_WARNING | BUGFLAG_TAINT(TAINT_WARN)); __r; })
#define WARN_ON_ONCE(c) ({ int __r = !!(c); if (__r) __WARN_FLAGS(BUGFLAG_WARNING | BUGFLAG_ONCE | BUGFLAG_TAINT(TAINT_WARN)); __r; })
int check_a(int x) { if (WARN_ON(x > 100)) return -1; return x; }
int check_b(int x) { if (WARN_ON(x < 0)) return -1; return x + 1; }
C
sed 's/if (WARN_ON(x > 100))/if (WARN_ON_ONCE(x > 100))/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
# Premise: identical code.
cmp <(objdump -d --section=.text.check_a "$t/orig.o" | tail -n +6) <(objdump -d --section=.text.check_a "$t/patched.o" | tail -n +6)
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = check_a ]
[ "$(jqr '.changed[0].reason.kind')" = special-entry ]
jqr '.changed[0].reason.detail' | has '__bug_table entry'
# The kept entry: flags 0x0903 (warning | once | taint 9).
[ "$(sec_size __bug_table)" = 12 ]
[ "$(sec_bytes __bug_table 10 2)" = 0309 ]
out_relocs __bug_table | has '^0 R_X86_64_PC32 check_a + '
