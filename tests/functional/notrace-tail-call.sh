#!/bin/bash
# A traceable caller that reaches the changed notrace function with a tail call (`jmp`) is not
# on the stack while the old function runs. If the old function makes calls (it can sleep in
# them), a task sleeping there would be switched by the transition in the middle of old code:
# refused with NO_FENTRY saying so (the syscall wrappers' `jmp __do_sys_foo`). A leaf
# function (no call at all) is never on a reliable stack: its tail-calling callers are patched.
# Unless the fix makes it call something: then a task can sleep in the module's copy with the
# patched caller gone from its stack, and unloading after a disable would free that code.
. "$(dirname "$0")/common.sh"
# reaches CALLER CALLEE call|jmp: in $t/orig.o, CALLER's instruction with the relocation to
# CALLEE (a static function: against its section) is a call, or a jump.
reaches() {
	objdump -dr "$t/orig.o" | sed -n "/<$1>:/,/^\$/p" | grep -B1 "R_X86_64_PC32.*\.text\.$2-0x4" | head -1 | has "	$3 "
}
cat > "$t/leaf.c" <<'C'
#define notrace __attribute__((no_instrument_function))
static notrace __attribute__((noinline)) int scale(int x) { return x * 3 + 1; }
int wrap(int x) { return scale(x + 2); }
C
sed 's/x \* 3 + 1/x * 3 + 2/' "$t/leaf.c" > "$t/leaf2.c"
kcc_pair "$t/leaf.c" "$t/leaf2.c"
reaches wrap scale jmp
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = wrap ]
[ "$(jqr '.notrace_callers[0].callers | join(",")')" = wrap ]
cat > "$t/body.c" <<'C'
extern int printk(const char *fmt, ...);
#define notrace __attribute__((no_instrument_function))
static notrace __attribute__((noinline)) int body(int x) { printk("body %d\n", x); return x * 3; }
int wrap(int x) { return body(x + 2); }
C
sed 's/"body %d\\n"/"body: %d\\n"/' "$t/body.c" > "$t/body2.c"
kcc_pair "$t/body.c" "$t/body2.c"
reaches wrap body jmp
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = NO_FENTRY ]
jqr '.refusals[0].message' | has 'wrap reaches body by a tail call (jmp at +0x[0-9a-f]*), and body makes calls'
sed 's/return x \* 3 + 1;/printk("scale %d\\n", x); return x * 3 + 1;/; 1i extern int printk(const char *fmt, ...);' "$t/leaf.c" > "$t/leaf3.c"
grep -q 'printk("scale' "$t/leaf3.c"
kcc_pair "$t/leaf.c" "$t/leaf3.c"
reaches wrap scale jmp
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = NO_FENTRY ]
jqr '.refusals[0].message' | has 'wrap reaches scale by a tail call (jmp at +0x[0-9a-f]*), and the patched scale makes calls'
