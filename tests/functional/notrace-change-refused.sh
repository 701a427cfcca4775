#!/bin/bash
# Livepatch redirects a function through its ftrace entry. A notrace function
# (no_instrument_function: no `call __fentry__`) that changed cannot be redirected: refused
# with NO_FENTRY naming it and suggesting __always_inline or patching the callers. A changed
# traceable function in the same object is fine on its own.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define notrace __attribute__((no_instrument_function))
notrace __attribute__((noinline)) int fast_path(int x) { printk("fast %d\n", x); return x + 1; }
int traced(int x) { printk("traced %d\n", x); return fast_path(x); }
C
sed 's/"fast %d\\n"/"fast path %d\\n"/' "$t/orig.c" > "$t/patched.c"
sed 's/"traced %d\\n"/"traced: %d\\n"/' "$t/orig.c" > "$t/traced.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kcc "$t/traced.c" "$t/traced.o"
# The premise: fast_path has no ftrace call, traced has one.
objdump -dr "$t/orig.o" | sed -n '/<fast_path>:/,/^$/p' | not grep -q __fentry__
objdump -dr "$t/orig.o" | sed -n '/<traced>:/,/^$/p' | has __fentry__
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = NO_FENTRY ]
[ "$(jqr '.refusals[0].location.symbol')" = fast_path ]
jqr '.refusals[0].message' | has '__always_inline'
[ ! -e "$t/out.o" ]
kdiff "$t/orig.o" "$t/traced.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = traced ]
