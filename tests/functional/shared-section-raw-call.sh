#!/bin/bash
# Functions in one shared section (__sched puts them all in .sched.text) call each other
# without relocations: GNU as resolves the call itself. A copied function is cut out of the
# section, so its raw call to a neighbour must become a relocation -- a livepatch relocation
# to the running sched_inner, or a normal one to sched_inner's copy when it is copied too.
# And a neighbour that grows moves the caller inside the section: not a change of the caller.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
#define __sched __attribute__((section(".sched.text")))
static __sched __attribute__((noinline)) int sched_inner(int x) { printk("inner %d\n", x); return x * 2; }
static __sched __attribute__((noinline)) int sched_outer(int x) { if (x > 5) printk("outer %d\n", x); return sched_inner(x) + 1; }
int entry(int x) { return sched_outer(x) + sched_inner(x + 1); }
C
sed 's/"outer %d\\n"/"outer v2 %d\\n"/' "$t/orig.c" > "$t/outer.c"
sed 's/printk("inner %d\\n", x); return x \* 2;/printk("inner %d\\n", x); printk("twice\\n"); return x * 2;/' "$t/orig.c" > "$t/inner.c"
sed 's/"outer %d\\n"/"outer v2 %d\\n"/' "$t/inner.c" > "$t/both.c"
for f in orig outer inner both; do kcc "$t/$f.c" "$t/$f.o"; done
# Premise: one .sched.text, sched_outer after sched_inner, calling it without a relocation.
[ "$(readelf -sW "$t/orig.o" | awk '$4 == "FUNC" && $8 ~ /^sched_/ {print $8}' | sort | tr '\n' ' ')" = "sched_inner sched_outer " ]
objdump -dr "$t/orig.o" | sed -n '/<sched_outer>:/,/^$/p' > "$t/outer.dis"
grep -q 'call.*<sched_inner>' "$t/outer.dis"
not grep -q 'R_X86_64.*sched_inner' "$t/outer.dis"
# 1. Only sched_outer changes: the raw call becomes a livepatch relocation to sched_inner.
kdiff "$t/orig.o" "$t/outer.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = sched_outer ]
[ "$(jqr '.relocations.klp[] | "\(.section) \(.symbol) \(.type) \(.addend)"' | sort -u)" = ".sched.text.sched_outer sched_inner R_X86_64_PC32 -4" ]
# One record per raw call (gcc made two: both branches of the if call sched_inner), each at
# the zeroed rel32 of a call in the copy.
sites=$(jqr '.relocations.klp[].offset')
[ "$(echo "$sites" | wc -l)" = "$(grep -c 'call.*<sched_inner>' "$t/outer.dis")" ]
objdump -d "$t/out.o" --section=.sched.text.sched_outer > "$t/copy.dis"
for site in $sites; do grep -q "^ *$(printf '%x' $((site - 1))):.*e8 00 00 00 00 .*call" "$t/copy.dis"; done
# 2. sched_inner changes and grows: sched_outer moves, but it did not change.
[ "$(readelf -sW "$t/inner.o" | awk '$8 == "sched_outer" {print $2}')" != "$(readelf -sW "$t/orig.o" | awk '$8 == "sched_outer" {print $2}')" ]
kdiff "$t/orig.o" "$t/inner.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = sched_inner ]
# 3. Both change: the call goes to the copy of sched_inner, no livepatch relocation.
kdiff "$t/orig.o" "$t/both.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed | sort | tr '\n' ' ')" = "sched_inner sched_outer " ]
[ "$(jqr '.relocations.klp | length')" = 0 ]
for site in $sites; do out_relocs .sched.text.sched_outer | has -x "$(printf '%x' "$site") R_X86_64_PC32 sched_inner - 4"; done
