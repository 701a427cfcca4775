#!/bin/bash
# A new pr_debug() early in the file renumbers every descriptor after it
# (__UNIQUE_ID_ddebug<__COUNTER__>.<n>). Descriptors are paired by function, format string
# and order, not by name: the functions below the new site are unchanged, only the function
# that gained the site is patched, and it carries both its descriptors.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "dyndbg.h"
int dd_first(int x) { return x + 1; }
int dd_a(int x) { pr_debug("dd_a %d\n", x); return x + 2; }
int dd_b(int x) { pr_debug("same %d\n", x); pr_debug("same %d\n", x + 1); return x + 3; }
C
sed 's/int dd_first(int x) { return x + 1; }/int dd_first(int x) { pr_debug("first %d\\n", x); return x + 1; }/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
# Premise: the names of dd_a's and dd_b's descriptors changed.
readelf -sW "$t/orig.o" | awk '$8 ~ /^__UNIQUE_ID_ddebug/ {print $8}' | sort > "$t/on"
readelf -sW "$t/patched.o" | awk '$8 ~ /^__UNIQUE_ID_ddebug/ {print $8}' | sort > "$t/pn"
[ "$(comm -12 "$t/on" "$t/pn" | wc -l)" = 0 ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = dd_first ]
[ "$(sec_size __dyndbg)" = 56 ]
jqr '.notes[]' | has '__dyndbg: 3 entries paired by function and format and order, 0 of the original without a twin'
