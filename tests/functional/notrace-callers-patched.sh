#!/bin/bash
# A changed function without ftrace entry (here: static, notrace, out of line, as gcc emits
# the kernel's `inline` helpers) whose every caller is a traceable function of the unit
# reaching it with `call`: the callers are patched instead ("patched callers use_a, use_b
# because scale has no ftrace entry"), and the new function is copied without a klp_func;
# the callers' copies call that copy. An unrelated traceable function is left alone.
. "$(dirname "$0")/common.sh"
# reaches CALLER CALLEE call|jmp: in $t/orig.o, CALLER's instruction with the relocation to
# CALLEE (a static function: against its section) is a call, or a jump.
reaches() {
	objdump -dr "$t/orig.o" | sed -n "/<$1>:/,/^\$/p" | grep -B1 "R_X86_64_PC32.*\.text\.$2-0x4" | head -1 | has "	$3 "
}
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define notrace __attribute__((no_instrument_function))
static notrace __attribute__((noinline)) int scale(int x) { return x * 3; }
int use_a(int x) { return scale(x) + 1; }
int use_b(int x) { printk("b %d\n", x); return scale(x + 1) * 2; }
int unrelated(int x) { printk("u %d\n", x); return x; }
C
sed 's/return x \* 3;/return x * 4;/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
# The premise: scale has no ftrace entry, its callers have one and call it (no tail call).
objdump -dr "$t/orig.o" | sed -n '/<scale>:/,/^$/p' | not grep -q __fentry__
reaches use_a scale call
reaches use_b scale call
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed | sort | tr '\n' ' ')" = "use_a use_b " ]
[ "$(jqr '.changed[] | select(.name == "use_a") | .reason.kind')" = notrace-callee ]
jqr '.changed[] | select(.name == "use_a") | .reason.detail' | has 'calls scale, which changed and has no ftrace entry'
[ "$(jqr '.notrace_callers[] | "\(.function): \(.callers | join(",")) / \(.copies | join(","))"')" = "scale: use_a,use_b / scale" ]
jqr '.notes[]' | has -xF 'patched callers use_a, use_b because scale has no ftrace entry'
[ "$(jqr '.included[] | select(.kind == "notrace copy") | .symbol')" = scale ]
[ "$(jqr '.refusals | length')" = 0 ]
# No klp_func for scale (no alias), and the callers' copies call the module's scale.
not out_sym __kpg_new.vmlinux.scale.0
out_sym __kpg_new.vmlinux.use_a.0
out_relocs .text.use_a | has 'R_X86_64_PC32 scale - 4'
out_relocs .text.use_b | has 'R_X86_64_PC32 scale - 4'
[ "$(klp_syms | grep -c scale)" = 0 ]
# scale's copy is the new code.
objdump -d "$t/out.o" | sed -n '/<scale>:/,/^$/p' | has 'lea.*(%rdi,%rdi,1)\|shl\|,4)'
