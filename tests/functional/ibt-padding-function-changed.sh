#!/bin/bash
# A 6.12 object (IBT and CONFIG_CALL_PADDING: 16 NOPs before each function, endbr64 at its
# entry, `call __fentry__` at +4) with one changed function: exactly that function changes,
# its ftrace site is found at +4 (its __mcount_loc entry is carried as bar+4), and the
# caller of a static helper does not change because of the padding in front of the helper.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
int g;
static __attribute__((noinline)) int helper(int x) { return x * 3 + g; }
int foo(int x) { return helper(x) + 1; }
int bar(int x) { return x + 5; }
C
sed 's/x + 5/x + 6/' "$t/orig.c" > "$t/patched.c"
# shellcheck disable=SC2086
kcc_pair "$t/orig.c" "$t/patched.c" $K612
# Premise: the 6.12 shape (padding, then endbr64 and the fentry call at +4).
readelf -sW "$t/patched.o" | awk '$8 == "bar" {print $2}' > "$t/bar.value"
[ "$(cat "$t/bar.value")" = 0000000000000010 ]
[ "$(sec_bytes .text.bar 0 20 "$t/patched.o")" = "90909090909090909090909090909090f30f1efa" ]
kdiff "$t/orig.o" "$t/patched.o"
expect_rc 0
[ "$(changed)" = bar ]
[ "$(jqr '.included[] | select(.kind == "changed function") | .symbol')" = bar ]
# The ftrace site after endbr64: the copy's __mcount_loc entry points at bar+4.
[ "$(out_relocs __mcount_loc)" = "0 R_X86_64_64 bar + 4" ]
jqr '.kernel_line.line' | has_line 6.12
