#!/bin/bash
# An allocatable table the tool does not know (here .my_sites, filled by inline asm like the
# kernel's site tables) that points into a function the patch replaces is refused with
# UNKNOWN_SPECIAL_SECTION naming the section and the function: the kernel would keep using
# the entry for the original. Entries pointing at unchanged functions, and named data objects
# holding a function pointer (an ops structure), are not a reason to refuse.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define MARK_SITE() asm volatile("1: nop\n .pushsection .my_sites,\"a\"\n .long 1b - .\n .popsection")
int sa(int x) { MARK_SITE(); printk("sa\n"); return x; }
int sb(int x) { MARK_SITE(); printk("sb\n"); return x + 1; }
int sc(int x) { printk("sc\n"); return x + 2; }
struct ops { int (*fn)(int); };
const struct ops sc_ops = { sc };
C
sed 's/"sb\\n"/"sb v2\\n"/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = UNKNOWN_SPECIAL_SECTION ]
[ "$(jqr '.refusals[0].location.section')" = .my_sites ]
[ "$(jqr '.refusals[0].location.symbol')" = sb ] # the patched function the entry is about
jqr '.refusals[0].message' | has 'section .my_sites is a table kpatch-gen does not know'
jqr '.refusals[0].message' | has 'points into sb'
[ ! -e "$t/out.o" ]
# sc is pointed at by sc_ops (a named object) and has no site: patching it is fine.
sed 's/"sc\\n"/"sc v2\\n"/' "$t/orig.c" > "$t/sc.c"
kcc "$t/sc.c" "$t/sc.o"
kdiff "$t/orig.o" "$t/sc.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = sc ]
not out_sym sc_ops
