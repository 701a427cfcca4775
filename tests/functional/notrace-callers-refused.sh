#!/bin/bash
# A changed static notrace function whose callers cannot stand in for it stays NO_FENTRY,
# with the reason: its address is taken (a pointer could reach the old function from
# anywhere), or nothing traceable calls it.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#define notrace __attribute__((no_instrument_function))
static notrace __attribute__((noinline)) int scale(int x) { return x * 3; }
int use_a(int x) { return scale(x) + 1; }
int (*scale_hook)(int) = scale;
C
sed 's/return x \* 3;/return x * 4;/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = NO_FENTRY ]
[ "$(jqr '.refusals[0].location.symbol')" = scale ]
jqr '.refusals[0].message' | has 'its callers cannot be patched instead: its address is stored in scale_hook+0x0 (scale in the original object)'
jqr '.refusals[0].message' | has '__always_inline'
[ ! -e "$t/out.o" ]
# Code that takes the address (not a call) is the same.
sed -e 's/^int (\*scale_hook)(int) = scale;/void *get_hook(void) { return (void *)scale; }/' "$t/orig.c" > "$t/lea.c"
sed 's/return x \* 3;/return x * 4;/' "$t/lea.c" > "$t/lea2.c"
kcc_pair "$t/lea.c" "$t/lea2.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
jqr '.refusals[0].message' | has 'get_hook+0x[0-9a-f]* takes its address'
# Only notrace callers, none traceable: nothing livepatch could redirect.
cat > "$t/none.c" <<'C'
#define notrace __attribute__((no_instrument_function))
static notrace __attribute__((noinline)) int scale(int x) { return x * 3; }
static notrace __attribute__((noinline)) int mid(int x) { return scale(x) + 1; }
void *keep[] = { mid };
C
sed 's/return x \* 3;/return x * 4;/' "$t/none.c" > "$t/none2.c"
kcc_pair "$t/none.c" "$t/none2.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = NO_FENTRY ]
jqr '.refusals[0].message' | has 'its address is stored in keep+0x0 (mid in the original object)'
