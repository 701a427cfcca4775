#!/bin/bash
# __dyndbg_classes (DECLARE_DYNDBG_CLASSMAP, class-based dynamic debug as drm uses it) holds
# the module's pointer and name and is registered with it: a patch module cannot carry it.
# A unit that has one is refused with UNSUPPORTED_SPECIAL_SECTION when the patch changes
# anything in it; without the class map the same change is accepted.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
#include "dyndbg.h"
struct module;
extern struct module __this_module;
struct ddebug_class_map {
	struct { void *next, *prev; } link;
	struct module *mod;
	const char *mod_name;
	const char **class_names;
	const int length, base;
	int map_type;
};
static const char *kpg_classnames[] = { "CORE", "DRIVER" };
static struct ddebug_class_map __attribute__((aligned(8), used, section("__dyndbg_classes"))) kpg_classes = {
	.mod = &__this_module, .mod_name = "unit", .class_names = kpg_classnames, .length = 2,
};
int dd_a(int x) { pr_debug("dd_a %d\n", x); return x + 1; }
C
sed 's/return x + 1;/return x + 2;/' "$t/orig.c" > "$t/patched.c"
kcc_pair "$t/orig.c" "$t/patched.c" -I"$KHEADERS"
[ "$(sec_size __dyndbg_classes "$t/patched.o")" = 56 ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 1
[ "$(refusal_codes)" = UNSUPPORTED_SPECIAL_SECTION ]
[ "$(jqr '.refusals[0].location.section')" = __dyndbg_classes ]
jqr '.refusals[0].message' | has 'module'"'"'s pointer and name'
jqr '.refusals[0].message' | has 'Ship this fix as an update of the kernel or module itself'
[ ! -e "$t/out.o" ]
# The same change in a unit without a class map.
sed '/^struct module;/,/^};$/d; /kpg_classnames/d; /__dyndbg_classes/,/^};$/d' "$t/orig.c" > "$t/orig2.c"
sed 's/return x + 1;/return x + 2;/' "$t/orig2.c" > "$t/patched2.c"
kcc_pair "$t/orig2.c" "$t/patched2.c" -I"$KHEADERS"
[ -z "$(sec_size __dyndbg_classes "$t/patched.o")" ]
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
