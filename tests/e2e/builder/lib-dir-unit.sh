#!/bin/bash
# e2e: a unit that kbuild reaches through the arch Makefile's libs-y (arch/x86/lib) builds.
# `make arch/x86/lib/inat.o` runs in the wrong Makefile context and misses the rule that
# generates inat-tables.c; kpatch-gen must notice and build the directory instead. The patch
# only adds blank lines where no __LINE__ is used: the expected outcome is "no functional
# change" (exit 3), which proves both sides compiled and were diffed.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.lib-dir-unit
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_kpatch_gen
find_lab_kernel
make_work_dir lib-dir-unit
cat >"$WORK/inat.patch" <<'P'
--- a/arch/x86/lib/inat.c
+++ b/arch/x86/lib/inat.c
@@ -14,6 +14,8 @@
 {
 	return inat_primary_table[opcode];
 }
+
+
 
 int inat_get_last_prefix_id(insn_byte_t last_pfx)
 {
P
rc=0
"$KPG_KPATCH_GEN" build "$WORK/inat.patch" --kernel-src "$LAB/src" --target-vmlinux "$LAB/build/vmlinux" \
	-o "$WORK/out" --json >"$WORK/result.json" 2>"$WORK/build.log" || rc=$?
if [ "$rc" != 3 ] || [ "$(jq -r .result "$WORK/result.json")" != no-change ]; then
	show_log "$WORK/build.log"
	die "$EXIT_FAIL" "expected exit 3 (no functional change) for arch/x86/lib/inat.c, got $rc"
fi
grep -q "building the units' directories instead: arch/x86/lib/" "$WORK/build.log" ||
	die "$EXIT_FAIL" "the single-object build of arch/x86/lib/inat.o did not fail over to the directory build"
log "PASS: arch/x86/lib/inat.c compiled through its directory; no functional change"
