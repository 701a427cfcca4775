#!/bin/bash
# KPG_*_CALLBACK(fn) (templates/include/kpatch-gen.h) stores a pointer to fn in
# .kpatch_gen.callbacks.<kind>. The diff reports each callback, carries its (new, static)
# function with whatever it needs -- existing state through livepatch relocations -- and
# gives it a global alias __kpg_cb.<obj>.<kind> for the generated module. The pointer
# section itself is not copied. A second callback of one kind is refused.
. "$(dirname "$0")/common.sh"
cat > "$t/head.h" <<'C'
struct klp_object;
#define __KPG_CALLBACK(kind, type, fn) \
	static __typeof__(type) __kpg_callback_##kind##_##fn __attribute__((used, section(".kpatch_gen.callbacks." #kind))) = fn
#define KPG_PRE_PATCH_CALLBACK(fn) __KPG_CALLBACK(pre_patch, int (*)(struct klp_object *), fn)
#define KPG_POST_UNPATCH_CALLBACK(fn) __KPG_CALLBACK(post_unpatch, void (*)(struct klp_object *), fn)
extern int printk(const char *fmt, ...);
C
cat > "$t/orig.c" <<'C'
#include "head.h"
static int mode = 1;
int get_mode(void) { return mode; }
void set_mode(int m) { mode = m; }
C
cat > "$t/patched.c" <<'C'
#include "head.h"
static int mode = 1;
int get_mode(void) { printk("mode %d\n", mode); return mode; }
void set_mode(int m) { mode = m; }
static int fix_mode(struct klp_object *obj) { if (mode > 3) mode = 3; printk("fixed\n"); return 0; }
KPG_PRE_PATCH_CALLBACK(fix_mode);
static void undo(struct klp_object *obj) { mode = 1; }
KPG_POST_UNPATCH_CALLBACK(undo);
C
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = get_mode ]
jqr '.callbacks[] | "\(.kind) \(.function) \(.alias)"' | sort > "$t/cbs"
printf '%s\n' "post_unpatch undo __kpg_cb.vmlinux.post_unpatch" "pre_patch fix_mode __kpg_cb.vmlinux.pre_patch" > "$t/want"
diff "$t/want" "$t/cbs"
[ "$(jqr '.included[] | select(.symbol == "fix_mode") | .kind')" = callback ]
# The aliases are global and sit exactly on the copied functions.
for cb in fix_mode:pre_patch undo:post_unpatch; do
	f=${cb%%:*} k=${cb#*:}
	readelf -sW "$t/out.o" | awk -v a="__kpg_cb.vmlinux.$k" '$8 == a {print $2, $4, $5, $7}' > "$t/alias"
	readelf -sW "$t/out.o" | awk -v f="$f" '$8 == f {print $2, $4, "GLOBAL", $7}' > "$t/func"
	[ -s "$t/alias" ]
	diff "$t/func" "$t/alias"
done
# The callback changes the running kernel's `mode`, not a copy.
[ "$(jqr '[.relocations.klp[] | select(.symbol == "mode")] | length')" -ge 3 ]
not out_sym mode
readelf -SW "$t/out.o" | not grep -q 'kpatch_gen.callbacks'
# Two pre_patch callbacks: refused.
cat "$t/patched.c" > "$t/two.c"
echo 'static int again(struct klp_object *obj) { return 0; } KPG_PRE_PATCH_CALLBACK(again);' >> "$t/two.c"
kcc "$t/two.c" "$t/two.o"
kdiff "$t/orig.o" "$t/two.o" --target "$t/orig.o"
expect_rc 1
jqr '.refusals[].message' | has 'a second pre_patch callback'
[ "$(refusal_codes)" = BAD_CALLBACK ]
