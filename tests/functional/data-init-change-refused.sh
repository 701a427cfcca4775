#!/bin/bash
# A changed initializer of existing data is not applied by a live patch (the running kernel
# keeps its current value), so it is refused with DATA_INIT_CHANGED naming the object and the
# offset of the first difference -- for a plain value and for a pointer in a table that now
# points at another string. Every refusal of the run is reported, not only the first.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
static int max_retries = 3;
static const char *modes[3] = { "off", "on", "auto" };
int retry(int x) { return x < max_retries ? x + modes[x % 3][0] : -1; }
void set_retries(int v) { max_retries = v; }
C
sed -e 's/max_retries = 3/max_retries = 5/' -e 's/"auto"/"automatic"/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(jqr .result)" = refused ]
jqr '.refusals[] | "\(.code) \(.location.symbol) \(.location.symbol_offset)"' | sort > "$t/got"
printf '%s\n' "DATA_INIT_CHANGED max_retries 0" "DATA_INIT_CHANGED modes 16" > "$t/want"
diff "$t/want" "$t/got"
jqr '.refusals[] | select(.location.symbol == "max_retries") | .message' | has 'initial value of max_retries changed'
[ ! -e "$t/out.o" ]
# The same objects with only code changes go through (the data itself is fine).
sed 's/x + modes/x + 1 + modes/' "$t/orig.c" > "$t/code.c"
kcc "$t/code.c" "$t/code.o"
kdiff "$t/orig.o" "$t/code.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = retry ]
