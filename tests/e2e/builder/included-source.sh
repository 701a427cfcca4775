#!/bin/bash
# e2e: a patch to a .c file that kbuild never compiles alone because another unit #includes
# it: arch/x86/mm/ident_map.c, included by arch/x86/mm/init_64.c (there is no ident_map.o;
# compiled alone it fails with "unknown type name 'pmd_t'"). The builder rebuilds init_64.o
# instead and says so, with the rule it used:
#   1. with the lab's full build next to vmlinux: init_64.o's dependency list (.cmd file);
#   2. without one (as on Debian: a vmlinux, its .config and Module.symvers only): the line
#      `#include "ident_map.c"` in a built unit of the same directory.
# Both give a module patching kernel_ident_mapping_init (ident_pud_init is inlined into it),
# with no directory build (class 7 of issue 10: that fallback is only for units kbuild cannot
# build alone).
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.included-source
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_kpatch_gen
need_tool jq
find_lab_kernel
make_work_dir included-source
cat >"$WORK/ident.patch" <<'P'
--- a/arch/x86/mm/ident_map.c
+++ b/arch/x86/mm/ident_map.c
@@ -46,6 +46,8 @@
 
 		/* Never overwrite existing mappings */
 		use_gbpage &= !pud_present(*pud);
+		/* kpatch-gen test: no gbpage for a mapping without flags */
+		use_gbpage &= info->page_flag != 0;
 
 		if (use_gbpage) {
 			pud_t pudval;
P
# A target without a full build: the lab's vmlinux, .config and Module.symvers, alone.
mkdir -p "$WORK/bare"
ln -sf "$LAB/build/vmlinux" "$WORK/bare/vmlinux"
run() { # run NAME ARGS...
	local name=$1 rc=0
	shift
	"$KPG_KPATCH_GEN" build "$WORK/ident.patch" --kernel-src "$LAB/src" --name "livepatch_ident_$name" \
		-o "$WORK/$name" --json "$@" >"$WORK/$name.json" 2>"$WORK/$name.log" || rc=$?
	if [ "$rc" != 0 ]; then
		show_log "$WORK/$name.log"
		die "$EXIT_FAIL" "$name: expected a module (exit 0), got exit $rc"
	fi
	[ "$(jq -r '.units[] | "\(.source) \(.result)"' "$WORK/$name.json")" = "arch/x86/mm/init_64.c changed" ] ||
		die "$EXIT_FAIL" "$name: units: $(jq -c .units "$WORK/$name.json")"
	[ "$(jq -r '.units[0].why' "$WORK/$name.json")" = "arch/x86/mm/ident_map.c is compiled as part of arch/x86/mm/init_64.c" ] ||
		die "$EXIT_FAIL" "$name: why: $(jq -r '.units[0].why' "$WORK/$name.json")"
	[ "$(jq -r '.units[0].part_of.file' "$WORK/$name.json")" = arch/x86/mm/ident_map.c ] ||
		die "$EXIT_FAIL" "$name: part_of: $(jq -c '.units[0].part_of' "$WORK/$name.json")"
	grep -F "arch/x86/mm/ident_map.c is compiled as part of arch/x86/mm/init_64.c" "$WORK/$name.log" >/dev/null ||
		die "$EXIT_FAIL" "$name: the log does not say which unit was rebuilt"
	! grep -F "directories instead" "$WORK/$name.log" >/dev/null || die "$EXIT_FAIL" "$name: fell back to a directory build"
	[ -f "$WORK/$name/livepatch_ident_$name.ko" ] || die "$EXIT_FAIL" "$name: no module"
}
run fullbuild --target-vmlinux "$LAB/build/vmlinux"
jq -r '.units[0].part_of.rule' "$WORK/fullbuild.json" | has "dependency list of arch/x86/mm/init_64.o"
run bare --target-vmlinux "$WORK/bare/vmlinux" --config "$LAB/build/.config" --symvers "$LAB/build/Module.symvers"
[ "$(jq -r '.units[0].part_of.rule' "$WORK/bare.json")" = 'arch/x86/mm/init_64.c:61: #include "ident_map.c"' ] ||
	die "$EXIT_FAIL" "bare: rule: $(jq -r '.units[0].part_of.rule' "$WORK/bare.json")"
! grep -F "header dependencies from" "$WORK/bare.log" >/dev/null || die "$EXIT_FAIL" "bare: a full build was found"
log "PASS: arch/x86/mm/ident_map.c rebuilt as part of init_64.o, from the dependency list and from the #include line"
