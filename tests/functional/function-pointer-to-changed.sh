#!/bin/bash
# setup() registers my_handler as a callback and also calls it. Both change. The call goes to
# the new copy, but the address handed to register_callback() must be the original's: ftrace
# redirects the original for as long as the patch is enabled, while the copy would keep being
# called (from wherever the pointer was stored) after the patch is disabled and unloaded.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
extern void register_callback(int (*fn)(int));
static __attribute__((noinline)) int my_handler(int x) { printk("handler %d\n", x); return x + 1; }
int setup(int x) { register_callback(my_handler); printk("setup\n"); return my_handler(x); }
C
sed -e 's/handler %d/handler v2 %d/' -e 's/"setup\\n"/"setup v2\\n"/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed | sort | tr '\n' ' ')" = "my_handler setup " ]
[ "$(jqr '.function_pointers[].function')" = my_handler ]
# Exactly one livepatch relocation: the address-of site in setup, to the original my_handler.
[ "$(jqr '.relocations.klp | length')" = 1 ]
[ "$(jqr '.relocations.klp[0] | "\(.section) \(.symbol) \(.sympos) \(.type)"')" = ".text.setup my_handler 0 R_X86_64_32S" ]
site=$(jqr '.relocations.klp[0].offset')
# The klp record places it at that offset of .text.setup, and the site has no ELF relocation
# of its own (it would point at the copy).
readelf -rW "$t/out.o" > "$t/rel"
awk '/\.rela\.kpatch_gen\.klp_relocs/{s=1;next} /Relocation section/{s=0} s' "$t/rel" > "$t/klp"
grep -q "R_X86_64_64 .* \.text\.setup + $(printf '%x' "$site")$" "$t/klp"
grep -q 'R_X86_64_64 .* \.klp\.sym\.vmlinux\.my_handler,0 + 0$' "$t/klp"
awk '/\.rela\.text\.setup/{s=1;next} /Relocation section/{s=0} s' "$t/rel" > "$t/setup"
not grep -q "^0*$(printf '%x' "$site") " "$t/setup"
# The direct (tail) call still reaches the new copy.
grep -q 'R_X86_64_PC32 .* my_handler - 4$' "$t/setup"
