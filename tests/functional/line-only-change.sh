#!/bin/bash
# Blank lines inserted above code that passes __LINE__ around (might_sleep()'s
# `mov $__LINE__,%esi`; the line field of a WARN_ON() bug_entry) change no behaviour: exit 3
# "no-change", nothing written, and the report's line_only lists each such function with the
# old and new line numbers. Checked with DWARF (-g) and without (callee-based fallback).
. "$(dirname "$0")/common.sh"
cat > "$t/unit.c" <<'C'
extern int printk(const char *fmt, ...);
extern void __might_sleep(const char *file, int line);
#define might_sleep() __might_sleep(__FILE__, __LINE__)
#define BUGFLAG_WARNING (1 << 0)
#define MY_WARN_ON(cond) ({						\
	int __ret = !!(cond);						\
	if (__builtin_expect(__ret, 0))					\
		asm volatile("1: ud2\n"					\
			     ".pushsection __bug_table,\"aw\"\n"	\
			     "2: .long 1b - .\n"			\
			     ".long %c0 - .\n"				\
			     ".word %c1, %c2\n"				\
			     ".org 2b+%c3\n"				\
			     ".popsection\n"				\
			     :: "i"(__FILE__), "i"(__LINE__),		\
			        "i"(BUGFLAG_WARNING), "i"(12));		\
	__ret; })
int first(int x) { return x + 1; }
/*INSERT*/
int sleepy(int x)
{
	might_sleep();
	printk("sleepy %d\n", x);
	return x * 2;
}
int checked(int x)
{
	if (MY_WARN_ON(x > 100))
		return -22;
	return x;
}
int both(int x)
{
	might_sleep();
	if (MY_WARN_ON(x < 0))
		return -1;
	return x + 3;
}
C
# Same file name on both sides (__FILE__ is compared: it is in the code and the bug table).
mkdir -p "$t/o" "$t/p"
cp "$t/unit.c" "$t/o/unit.c"
awk '{print} /\/\*INSERT\*\//{print "\n\n"}' "$t/unit.c" > "$t/p/unit.c"
for g in -g -g0; do
	(cd "$t/o" && kcc unit.c unit$g.o $g)
	(cd "$t/p" && kcc unit.c unit$g.o $g)
	kdiff "$t/o/unit$g.o" "$t/p/unit$g.o" --target "$t/o/unit$g.o"
	expect_rc 3
	[ "$(jqr .result)" = no-change ]
	[ ! -e "$t/out.o" ]
	[ "$(jqr '.changed | length')" = 0 ]
	jqr '.line_only[] | "\(.name): \(.detail)"' > "$t/lines"
	cat "$t/lines"
	grep -Eq '^sleepy: only __LINE__ values differ \(\+0x[0-9a-f]+: 22 -> 25\)$' "$t/lines"
	grep -Eq '^checked: only __LINE__ values differ \(\+0x[0-9a-f]+: __bug_table line 28 -> 31\)$' "$t/lines"
	grep -Eq '^both: .*34 -> 37.*__bug_table line 35 -> 38' "$t/lines"
	[ "$(wc -l < "$t/lines")" = 3 ]
done
