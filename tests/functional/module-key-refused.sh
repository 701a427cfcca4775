#!/bin/bash
# In a module, a static branch on a key the module defines would need a module-specific
# livepatch relocation, applied when the module comes -- after its jump labels were
# initialised from the entries. Refused with MODULE_KEY_IN_SPECIAL_ENTRY (naming section, the
# function, key, module, and the static_key_enabled() way out). The same code in vmlinux is accepted.
# A tracepoint's key in the module is not refused: that entry is dropped with a warning.
. "$(dirname "$0")/common.sh"
cat > "$t/head.h" <<'C'
extern int printk(const char *fmt, ...);
struct static_key { int enabled; };
static inline __attribute__((always_inline)) int static_branch(struct static_key *key, int branch)
{
	asm goto("1: .byte 0x0f,0x1f,0x44,0x00,0x00\n\t"
		 ".pushsection __jump_table, \"aw\"\n\t"
		 ".balign 8\n\t"
		 ".long 1b - ., %l[l_yes] - .\n\t"
		 ".quad %c0 + %c1 - .\n\t"
		 ".popsection\n\t"
		 : : "i"(key), "i"(branch) : : l_yes);
	return 0;
l_yes:
	return 1;
}
C
cat > "$t/orig.c" <<'C'
#include "head.h"
static struct static_key mod_key;
void mod_enable(void) { mod_key.enabled = 1; }
int mod_fn(int x) { if (static_branch(&mod_key, 0)) printk("mod_fn\n"); return x + 1; }
C
sed 's/"mod_fn\\n"/"mod_fn v2\\n"/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o" --objname mymod
expect_rc 1
[ "$(refusal_codes)" = MODULE_KEY_IN_SPECIAL_ENTRY ]
[ "$(jqr '.refusals[0].location.section')" = __jump_table ]
# The refusal names the function with the static branch, not only the unit.
[ "$(jqr '.refusals[0].location.symbol')" = mod_fn ]
jqr '.refusals[0].message' | has '__jump_table entry of mod_fn refers to'
jqr '.refusals[0].message' | has 'refers to mod_key in module mymod'
jqr '.refusals[0].message' | has 'static_key_enabled()'
[ ! -e "$t/out.o" ]
# Built into vmlinux, the key is vmlinux's: fine.
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(jqr '.relocations.klp[] | "\(.section) \(.symbol) \(.object)"')" = "__jump_table mod_key vmlinux" ]
# A tracepoint of the module (its key is __tracepoint_<name>, defined in another unit of the
# module): the entry is dropped, the function patched, with a warning.
cat > "$t/tp-orig.c" <<'C'
#include "head.h"
extern struct static_key __tracepoint_my_event;
int traced_fn(int x) { if (static_branch(&__tracepoint_my_event, 0)) printk("event\n"); printk("traced\n"); return x; }
C
sed 's/"traced\\n"/"traced v2\\n"/' "$t/tp-orig.c" > "$t/tp-patched.c"
printf 'struct static_key { int enabled; };\nstruct static_key __tracepoint_my_event;\n' > "$t/tp-def.c"
kcc "$t/tp-orig.c" "$t/tp-orig.o"
kcc "$t/tp-patched.c" "$t/tp-patched.o"
kcc "$t/tp-def.c" "$t/tp-def.o"
ld -r -o "$t/mymod.ko" "$t/tp-orig.o" "$t/tp-def.o"
kdiff "$t/tp-orig.o" "$t/tp-patched.o" --target "$t/mymod.ko" --objname mymod
expect_rc 0
[ "$(changed)" = traced_fn ]
[ "$(jqr '.special_sections[] | select(.section == "__jump_table") | .kept')" = 0 ]
[ -z "$(sec_size __jump_table)" ]
jqr '.warnings[]' | has 'tracepoint __tracepoint_my_event of module mymod is dropped'
