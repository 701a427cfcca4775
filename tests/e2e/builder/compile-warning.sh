#!/bin/bash
# e2e: a patch that compiles with a warning (an unused variable, as a backport that dropped
# the variable's last use leaves one) still builds its module, and the warning is printed
# with file, line and column and listed as `compile_warnings` in the JSON result and in
# NAME.json. Twice, as builder.compile-error: the patched side compiled by make, then by the
# original's recorded kbuild command; the warning must be found either way.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.compile-warning
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_kpatch_gen
find_lab_kernel
make_work_dir compile-warning
cat >"$WORK/warn.patch" <<'P'
--- a/fs/proc/cmdline.c
+++ b/fs/proc/cmdline.c
@@ -6,6 +6,8 @@
 
 static int cmdline_proc_show(struct seq_file *m, void *v)
 {
+	int kpg_unused;
+
 	seq_puts(m, saved_command_line);
 	seq_putc(m, '\n');
 	return 0;
P
# A second change in the same function, so that the build has something to patch.
cat >"$WORK/change.patch" <<'P'
--- a/fs/proc/cmdline.c
+++ b/fs/proc/cmdline.c
@@ -9,6 +9,7 @@
 	int kpg_unused;
 
 	seq_puts(m, saved_command_line);
+	seq_puts(m, " kpg_warning=1");
 	seq_putc(m, '\n');
 	return 0;
 }
P
# gcc quotes with ‘’ in a UTF-8 locale and with '' in the C locale: both are accepted.
want="fs/proc/cmdline.c:9:13: warning: the patched source compiles with a warning: unused variable .kpg_unused. \[-Wunused-variable\]"
for run in 1 2; do
	rm -rf "$WORK/out"
	rc=0
	"$KPG_KPATCH_GEN" build "$WORK/warn.patch" "$WORK/change.patch" --kernel-src "$LAB/src" \
		--target-vmlinux "$LAB/build/vmlinux" -o "$WORK/out" --json >"$WORK/result.json" 2>"$WORK/build.log" || rc=$?
	if [ "$rc" != 0 ]; then
		show_log "$WORK/build.log"
		die "$EXIT_FAIL" "run $run: expected a module (exit 0), got exit $rc"
	fi
	grep -q "$want" "$WORK/build.log" ||
		die "$EXIT_FAIL" "run $run: no '$want' in: $(cat "$WORK/build.log")"
	for f in "$WORK/result.json" "$WORK/out/"*.json; do
		got=$(jq -r '.compile_warnings | length, (.[] | "\(.file):\(.line):\(.column) \(.message)")' "$f")
		if [ "$(printf '%s\n' "$got" | head -n 1)" != 1 ] ||
			! printf '%s\n' "$got" | sed -n 2p | grep -qE "^fs/proc/cmdline.c:9:13 unused variable .kpg_unused. \[-Wunused-variable\]$"; then
			die "$EXIT_FAIL" "run $run: compile_warnings in $(basename "$f"): $got"
		fi
	done
	log "run $run: module built, the warning reported with file:line:column"
done
grep -qF "fs/proc/cmdline.o: compiling the patched side with the original's recorded kbuild command" "$WORK/build.log" ||
	die "$EXIT_FAIL" "the second run did not compile by the recorded command: $(cat "$WORK/build.log")"
log "PASS: a compile warning in the patched source is reported, by make and by the recorded command"
