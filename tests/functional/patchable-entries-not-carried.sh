#!/bin/bash
# The __patchable_function_entries entry of a changed 6.12 function (a pointer to its 16 bytes
# of NOP padding) is not carried: x86 ftrace reads __mcount_loc, vmlinux.lds discards the
# section and no module loader code reads it. What the padding is for -- call depth tracking's
# accounting thunk, written into the 16 NOPs before a call destination -- needs the padding
# itself, which comes with the function's section: the copy starts with the 16 NOPs and its
# symbol 16 bytes in.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
int foo(int x) { return x + 1; }
int bar(int x) { return x + 5; }
C
sed 's/x + 5/x + 6/' "$t/orig.c" > "$t/patched.c"
# shellcheck disable=SC2086
kcc_pair "$t/orig.c" "$t/patched.c" $K612
# Premise: an entry per function, pointing at the start of its section (its padding).
[ "$(out_relocs __patchable_function_entries "$t/patched.o")" = "$(printf '%s\n' \
	"0 R_X86_64_64 .text.foo + 0" "8 R_X86_64_64 .text.bar + 0")" ]
kdiff "$t/orig.o" "$t/patched.o"
expect_rc 0
[ "$(changed)" = bar ]
[ -z "$(sec_size __patchable_function_entries)" ]
# The padding stays with the copy: 16 NOPs, then endbr64 where the symbol starts.
[ "$(sec_bytes .text.bar 0 20)" = "90909090909090909090909090909090f30f1efa" ]
readelf -sW "$t/out.o" | awk '$8 == "bar" {print $2, $3}' > "$t/bar.sym"
[ "$(cat "$t/bar.sym")" = "0000000000000010 13" ]
