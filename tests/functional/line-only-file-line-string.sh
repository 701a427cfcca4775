#!/bin/bash
# __FILE__ ":" __stringify(__LINE__) puts a line number in a string literal: every fortified
# memcpy() has "field \"...\" at arch/x86/kvm/x86.c:8493" for its field-spanning-write
# warning. A line inserted above moves it; when DWARF says the number is the line of the code
# that loads the string, that is a line-only change (exit 3). A literal that merely looks like
# one ("unit.c:42" written by hand, changed to 43) is a real change.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)
extern void __warn_printk(const char *fmt, ...);
extern void kpg_copy(void *d, const void *s, unsigned long n);
#define checked_copy(d, s, n) do {								\
	if ((n) > sizeof(*(d)))									\
		__warn_printk("detected field-spanning write of %s\n",				\
			      "field \"" #d "\" at " __FILE__ ":" __stringify(__LINE__));	\
	kpg_copy(d, s, n);									\
} while (0)
struct kpg_run { char bytes[16]; };
void kpg_fill(struct kpg_run *run, const void *src, unsigned long n)
{
	checked_copy(run->bytes, src, n);
}
void kpg_fake(void) { __warn_printk("at unit.c:42\n"); }
C
{ echo; cat "$t/orig.c"; } > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
# Premise: the strings differ.
strings "$t/orig.o" | has 'unit.c:14$'
strings "$t/patched.o" | has 'unit.c:15$'
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 3
jqr '.line_only[] | select(.name == "kpg_fill") | .detail' | has '__FILE__:__LINE__ string 14 -> 15'
# A hand-written "unit.c:42" -> "unit.c:43" is not a line of the code using it.
sed 's/at unit.c:42/at unit.c:43/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = kpg_fake ]
