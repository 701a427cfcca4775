#!/bin/bash
# A distribution's module is stripped (`strip --strip-debug`: no STT_FILE symbols, as every
# .ko in Debian's linux-image-* package), so the diff cannot find its unit's FILE block.
# A local whose name no other local of the module has is still ours: the changed static
# function and the static counter it uses resolve by name (sympos 0), the report says how,
# and the result is the same as against the unstripped module.
. "$(dirname "$0")/common.sh"
mkdir -p "$t/a" "$t/b" "$t/p"
cat > "$t/a/a.c" <<'C'
extern int printk(const char *fmt, ...);
static int a_count;
static __attribute__((noinline)) int a_helper(int x) { a_count++; printk("a helper %d\n", x); return x + a_count; }
int a_entry(int x) { return a_helper(x); }
C
cat > "$t/b/b.c" <<'C'
extern int printk(const char *fmt, ...);
static int b_count;
static __attribute__((noinline)) int b_helper(int x) { b_count++; printk("b helper %d\n", x); return x - b_count; }
int b_entry(int x) { return b_helper(x); }
C
sed 's/a helper %d/a helper v2 %d/' "$t/a/a.c" > "$t/p/a.c"
(cd "$t/a" && kcc a.c a.o)
(cd "$t/b" && kcc b.c b.o)
(cd "$t/p" && kcc a.c a.o)
ld -r -o "$t/mod-debug.ko" "$t/b/b.o" "$t/a/a.o"
strip --strip-debug -o "$t/mod.ko" "$t/mod-debug.ko"
# The premise: the unstripped module has both units' FILE symbols, the stripped one none.
[ "$(readelf -sW "$t/mod-debug.ko" | awk '$4 == "FILE" {print $8}' | tr '\n' ' ')" = "b.c a.c " ]
[ -z "$(readelf -sW "$t/mod.ko" | awk '$4 == "FILE"')" ]
kdiff "$t/a/a.o" "$t/p/a.o" --target "$t/mod.ko" --objname mod
expect_rc 0
[ "$(jqr '.changed[] | "\(.name) \(.sympos)"')" = "a_helper 0" ]
[ "$(jqr '.relocations.klp[] | "\(.object) \(.symbol) \(.sympos)"' | sort -u)" = "mod a_count 0" ]
out_sym .klp.sym.mod.a_count,0
jqr '.notes[]' | has "mod.ko has no FILE symbols (stripped): this unit's locals were resolved by name"
cp "$t/out.o" "$t/out-stripped.o"
# Against the unstripped copy: the same object.
kdiff "$t/a/a.o" "$t/p/a.o" --target "$t/mod-debug.ko" --objname mod
expect_rc 0
cmp "$t/out.o" "$t/out-stripped.o"
