#!/bin/bash
# Against a stripped module (no STT_FILE symbols), a static whose name two units of the
# module use (each has its own `static int count`) cannot be told apart: the diff refuses
# with TARGET_SYMBOL_NOT_FOUND, naming the symbol and both candidates and pointing at the
# unstripped copy, rather than guess; against the unstripped copy the FILE blocks decide
# (ours is the second `count`: sympos 2).
. "$(dirname "$0")/common.sh"
mkdir -p "$t/a" "$t/b" "$t/p"
cat > "$t/a/a.c" <<'C'
extern int printk(const char *fmt, ...);
static int count;
static __attribute__((noinline)) int a_helper(int x) { count++; printk("a helper %d\n", x); return x + count; }
int a_entry(int x) { return a_helper(x); }
C
cat > "$t/b/b.c" <<'C'
extern int printk(const char *fmt, ...);
static int count;
static __attribute__((noinline)) int b_helper(int x) { count += 2; printk("b helper %d\n", x); return x - count; }
int b_entry(int x) { return b_helper(x); }
C
sed 's/a helper %d/a helper v2 %d/' "$t/a/a.c" > "$t/p/a.c"
(cd "$t/a" && kcc a.c a.o)
(cd "$t/b" && kcc b.c b.o)
(cd "$t/p" && kcc a.c a.o)
ld -r -o "$t/mod-debug.ko" "$t/b/b.o" "$t/a/a.o"
strip --strip-debug -o "$t/mod.ko" "$t/mod-debug.ko"
[ -z "$(readelf -sW "$t/mod.ko" | awk '$4 == "FILE"')" ]
[ "$(readelf -sW "$t/mod.ko" | awk '$8 == "count"' | wc -l)" = 2 ]
kdiff "$t/a/a.o" "$t/p/a.o" --target "$t/mod.ko" --objname mod
expect_rc 1
[ "$(refusal_codes)" = TARGET_SYMBOL_NOT_FOUND ]
msg=$(jqr '.refusals[0].message')
grep -q "static count is ambiguous in $t/mod.ko: 2 locals match (count (symtab #[0-9]*, 4 bytes), count (symtab #[0-9]*, 4 bytes))" <<<"$msg"
grep -q "unstripped copy" <<<"$msg"
[ ! -e "$t/out.o" ]
kdiff "$t/a/a.o" "$t/p/a.o" --target "$t/mod-debug.ko" --objname mod
expect_rc 0
[ "$(jqr '.relocations.klp[] | "\(.symbol) \(.sympos)"' | sort -u)" = "count 2" ]
