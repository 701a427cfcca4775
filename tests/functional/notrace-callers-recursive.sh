#!/bin/bash
# The changed notrace function's only caller has no ftrace entry either (and is static, and
# called with `call`): it is copied too, and *its* traceable callers are patched. A notrace
# caller that is global ends the recursion with NO_FENTRY naming it.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define notrace __attribute__((no_instrument_function))
static notrace __attribute__((noinline)) int scale(int x) { return x * 3; }
static notrace __attribute__((noinline)) int mid(int x) { printk("mid\n"); return scale(x) + 7; }
int top(int x) { int r = mid(x); printk("top\n"); return r * 2; }
C
sed 's/return x \* 3;/return x * 5;/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = top ]
[ "$(jqr '.notrace_callers[0] | "\(.function): \(.callers | join(",")) / \(.copies | join(","))"')" = "scale: top / scale,mid" ]
[ "$(jqr '.included[] | select(.kind == "notrace copy") | .symbol' | sort | tr '\n' ' ')" = "mid scale " ]
jqr '.changed[] | select(.name == "mid") | .reason.detail' | has 'calls scale, which is copied because the changed scale has no ftrace entry'
jqr '.changed[] | select(.name == "top") | .reason.detail' | has 'calls mid, which has no ftrace entry and calls the changed scale'
out_relocs .text.top | has 'R_X86_64_PC32 mid - 4'
out_relocs .text.mid | has 'R_X86_64_PC32 scale - 4'
# The same with a global notrace caller in between: refused.
sed 's/^static notrace __attribute__((noinline)) int mid/notrace __attribute__((noinline)) int mid/' "$t/orig.c" > "$t/gorig.c"
sed 's/return x \* 3;/return x * 5;/' "$t/gorig.c" > "$t/gpatched.c"
kcc_pair "$t/gorig.c" "$t/gpatched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = NO_FENTRY ]
[ "$(jqr '.refusals[0].location.symbol')" = scale ]
jqr '.refusals[0].message' | has 'its callers cannot be patched instead: mid is global, so code outside this unit may call it directly'
