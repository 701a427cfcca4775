#!/bin/bash
# e2e: a patch whose file does not compile (it includes a header 6.1 does not have) is
# reported within seconds with the compiler's first error, file and line, exit 4 and result
# "compile-error", without the directory rebuild (fs/ with -j1 was ten minutes) that is only
# for units kbuild cannot build alone.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.compile-error
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_kpatch_gen
find_lab_kernel
make_work_dir compile-error
cat >"$WORK/bad.patch" <<'P'
--- a/fs/proc/cmdline.c
+++ b/fs/proc/cmdline.c
@@ -3,6 +3,7 @@
 #include <linux/init.h>
 #include <linux/proc_fs.h>
 #include <linux/seq_file.h>
+#include <linux/kpg-no-such-header.h>
 
 static int cmdline_proc_show(struct seq_file *m, void *v)
 {
P
# Twice: the first build compiles the original with make (or finds it in the cache of
# compiled originals, filled by other tests); the second finds it cached and compiles the
# patched side with the original's recorded kbuild command, without make
# (compile_recorded): the error must be the same either way.
for run in 1 2; do
	rc=0
	t0=$(now_ms)
	"$KPG_KPATCH_GEN" build "$WORK/bad.patch" --kernel-src "$LAB/src" --target-vmlinux "$LAB/build/vmlinux" \
		-o "$WORK/out" --json >"$WORK/result.json" 2>"$WORK/build.log" || rc=$?
	secs=$(elapsed "$t0" "$(now_ms)")
	if [ "$rc" != 4 ] || [ "$(jq -r .result "$WORK/result.json")" != compile-error ]; then
		show_log "$WORK/build.log"
		die "$EXIT_FAIL" "run $run: expected exit 4 and result compile-error, got $rc / $(jq -r .result "$WORK/result.json")"
	fi
	grep -q 'the patched source does not compile: fs/proc/cmdline.c:6:10: fatal error: linux/kpg-no-such-header.h: No such file or directory' "$WORK/build.log" ||
		die "$EXIT_FAIL" "run $run: no compiler error with file and line in: $(cat "$WORK/build.log")"
	[ "$(jq -r '.compile_error | "\(.object) \(.file):\(.line)"' "$WORK/result.json")" = "fs/proc/cmdline.o fs/proc/cmdline.c:6" ] ||
		die "$EXIT_FAIL" "run $run: compile_error in the JSON result: $(jq -c .compile_error "$WORK/result.json")"
	[ "$(jq -r '.units[] | "\(.source) \(.result)"' "$WORK/result.json")" = "fs/proc/cmdline.c compile-error" ] ||
		die "$EXIT_FAIL" "run $run: per-unit outcome: $(jq -c .units "$WORK/result.json")"
	! grep -q "directories instead" "$WORK/build.log" || die "$EXIT_FAIL" "run $run: fell back to a directory build"
	log "run $run: compile error reported in $secs s with file:line (exit 4)"
done
grep -qF "fs/proc/cmdline.o: compiling the patched side with the original's recorded kbuild command" "$WORK/build.log" ||
	die "$EXIT_FAIL" "the second run did not compile by the recorded command: $(cat "$WORK/build.log")"
log "PASS: the compiler's error with file:line (exit 4), by make and by the recorded command"
