#!/bin/bash
# A new ops structure (new data, copied into the output) holds a pointer to a changed
# function. Like any address of a changed function, the pointer must be the original's (a
# livepatch relocation from the copied data), not the copy's. The existing ops structure is
# referenced, not copied.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
struct ops { int (*fn)(int); const char *name; };
extern void register_ops(const struct ops *);
static __attribute__((noinline)) int my_handler(int x) { printk("handler %d\n", x); return x + 1; }
static const struct ops old_ops = { my_handler, "old" };
int setup(int x) { register_ops(&old_ops); return 0; }
C
cat > "$t/patched.c" <<'C'
extern int printk(const char *fmt, ...);
struct ops { int (*fn)(int); const char *name; };
extern void register_ops(const struct ops *);
static __attribute__((noinline)) int my_handler(int x) { printk("handler v2 %d\n", x); return x + 1; }
static const struct ops old_ops = { my_handler, "old" };
static const struct ops new_ops = { my_handler, "new" };
int setup(int x) { register_ops(&old_ops); register_ops(&new_ops); return 0; }
C
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed | sort | tr '\n' ' ')" = "my_handler setup " ]
[ "$(jqr '.included[] | select(.symbol == "new_ops") | .kind')" = "new object" ]
not out_sym old_ops
[ "$(jqr '.function_pointers[].function')" = my_handler ]
jqr '.relocations.klp[] | "\(.section)+\(.offset) \(.symbol) \(.type)"' | sort > "$t/klp"
printf '%s\n' ".rodata.new_ops+0 my_handler R_X86_64_64" ".text.setup+$(jqr '.relocations.klp[] | select(.symbol == "old_ops") | .offset') old_ops R_X86_64_32S" | sort > "$t/want"
diff "$t/want" "$t/klp"
# new_ops' name pointer is a normal relocation to the copied string.
readelf -rW "$t/out.o" | awk '/\.rela\.rodata\.new_ops/{s=1;next} /Relocation section/{s=0} s' > "$t/rel"
[ "$(grep -c R_X86_64 "$t/rel")" = 1 ]
grep -q '^0*8 .*R_X86_64_64 .* \.rodata\.str1\.1 + ' "$t/rel"
