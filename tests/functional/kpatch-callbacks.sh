#!/bin/bash
# kpatch's KPATCH_{PRE,POST}_{PATCH,UNPATCH}_CALLBACK(fn) (templates/include/kpatch-macros.h),
# with kpatch's `patch_object *` signature and KPATCH_PRINTK in the body, become kpatch-gen
# callbacks: each is reported with its kind and carried with its global alias.
. "$(dirname "$0")/kpatch-common.sh"
cat > "$t/orig.c" <<'C'
#include "kpatch-macros.h"
static int mode = 1;
int get_mode(void) { return mode; }
C
cat > "$t/patched.c" <<'C'
#include "kpatch-macros.h"
static int mode = 1;
int get_mode(void) { return mode + 1; }
static int pre(patch_object *obj) { KPATCH_PRINTK("pre %d\n", mode); return 0; }
static void post(patch_object *obj) { KPATCH_PRINTK_DEFERRED("post\n"); }
static void pre_un(patch_object *obj) { mode = 1; }
static void post_un(patch_object *obj) { KPATCH_PRINTK("gone\n"); }
KPATCH_PRE_PATCH_CALLBACK(pre);
KPATCH_POST_PATCH_CALLBACK(post);
KPATCH_PRE_UNPATCH_CALLBACK(pre_un);
KPATCH_POST_UNPATCH_CALLBACK(post_un);
C
kpatch_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = get_mode ]
jqr '.callbacks[] | "\(.kind) \(.function)"' | sort > "$t/cbs"
printf '%s\n' "post_patch post" "post_unpatch post_un" "pre_patch pre" "pre_unpatch pre_un" > "$t/want"
diff "$t/want" "$t/cbs"
for k in pre_patch post_patch pre_unpatch post_unpatch; do out_sym "__kpg_cb.vmlinux.$k"; done
# KPATCH_PRINTK reads jiffies: the running kernel's, not a copy.
klp_syms | has_line jiffies || jqr '.relocations.normal[].symbol' | has_line jiffies
[ "$(readelf -sW "$t/out.o" | awk '$8 == "jiffies" {print $7}')" = UND ]
