#!/bin/bash
# Two builds of one 6.12 object (IBT, 16 bytes of padding before each function, a
# __patchable_function_entries entry per function) with no code change: no change (exit 3),
# neither from the padding nor from the entries that point at it.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
int g;
static __attribute__((noinline)) int helper(int x) { return x * 3 + g; }
int foo(int x) { return helper(x) + 1; }
int bar(int x) { return x + 5; }
C
# A comment changes the line numbers in the DWARF, nothing in the code.
{ echo '/* a comment */'; cat "$t/orig.c"; } > "$t/patched.c"
# shellcheck disable=SC2086
kcc_pair "$t/orig.c" "$t/patched.c" $K612
[ -n "$(sec_size __patchable_function_entries "$t/patched.o")" ]
kdiff "$t/orig.o" "$t/patched.o"
expect_rc 3
[ "$(jqr '.changed | length')" = 0 ]
[ "$(jqr '.refusals | length')" = 0 ]
