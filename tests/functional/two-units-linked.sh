#!/bin/bash
# An object linked from two units (`ld -r`, as kbuild links a composite module object) has two
# STT_FILE blocks, each with its own locals: a.c's `static int helper` and `static int counter`
# are not b.c's. Locals are correlated per block and found in the target per block, so the
# changed b.c helper is patched as helper,2 (the second of that name), and each function's
# counter is its own unit's.
. "$(dirname "$0")/common.sh"
cat > "$t/a.c" <<'C'
static int counter;
static __attribute__((noinline)) int helper(int x) { counter++; return x + counter; }
int a_entry(int x) { return helper(x) * 2; }
C
cat > "$t/b.c" <<'C'
extern int printk(const char *fmt, ...);
static int counter;
static __attribute__((noinline)) int helper(int x) { counter += 2; printk("b %d\n", counter); return x - counter; }
int b_entry(int x) { return helper(x) + 1; }
C
link() { # link OUT A.c B.c: two units, linked like a composite object
	mkdir -p "$t/$1"
	cp "$2" "$t/$1/a.c"
	cp "$3" "$t/$1/b.c"
	(cd "$t/$1" && kcc a.c a.o && kcc b.c b.o && ld -r a.o b.o -o "$t/$1.o")
}
sed 's/"b %d\\n"/"b now %d\\n"/' "$t/b.c" > "$t/b2.c"
# In the patched a.c, gcc inlines helper: a.c's helper is gone, b.c's changed.
sed 's/static __attribute__((noinline)) int helper/static inline int helper/' "$t/a.c" > "$t/a2.c"
link orig "$t/a.c" "$t/b.c"
link patched "$t/a2.c" "$t/b2.c"
[ "$(readelf -sW "$t/orig.o" | awk '$4 == "FILE" {print $8}' | tr '\n' ' ')" = "a.c b.c " ]
[ "$(readelf -sW "$t/orig.o" | awk '$8 == "helper"' | wc -l)" = 2 ]
[ "$(readelf -sW "$t/patched.o" | awk '$8 == "helper"' | wc -l)" = 1 ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed | sort | tr '\n' ' ')" = "a_entry helper " ]
# b.c's helper is the second `helper` of the target (symtab order, as for a module).
[ "$(jqr '.changed[] | select(.name == "helper") | "\(.sympos) \(.alias)"')" = "2 __kpg_new.vmlinux.helper.2" ]
# Each copy uses its own unit's counter: a_entry (with helper inlined) a.c's, helper b.c's.
[ "$(jqr '.relocations.klp[] | "\(.section) \(.symbol),\(.sympos)"' | sort -u | tr '\n' ' ')" = ".text.a_entry counter,1 .text.helper counter,2 " ]
# Only b.c's change: the same answer without help from the other unit's changes.
link only_b "$t/a.c" "$t/b2.c"
kdiff "$t/orig.o" "$t/only_b.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = helper ]
[ "$(jqr '.changed[0].sympos')" = 2 ]
[ "$(klp_syms | sort -u)" = counter ]
[ "$(jqr '.relocations.klp[0].sympos')" = 2 ]
