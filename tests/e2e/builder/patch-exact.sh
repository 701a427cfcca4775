#!/bin/bash
# e2e: `kpatch-gen build` applies user patches exactly (the behaviours themselves are unit
# tests: tests/unit/builder/apply_test.cc; this is the command line and the report, on the
# lab kernel's source):
#   moved   examples/cmdline-string with its hunk header two lines off: the hunk's lines
#           occur once in fs/proc/cmdline.c, so it applies at an offset; the module is built
#           and the result lists the hunk under moved_hunks (offset -2)
#   fuzzy   the same patch with a context line that no longer matches the source: refused
#           by default (exit 1, an error naming the patch, the file and hunk #1, and the
#           --fuzz that would apply it), nothing written
#   fuzz 1  that patch with --fuzz 1: built, the hunk listed with fuzz 1
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.patch-exact
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_kpatch_gen
find_lab_kernel
make_work_dir builder-patch-exact

orig="$EXAMPLES/cmdline-string/cmdline-string.patch"
grep -q '^@@ -7,6 +7,7 @@' "$orig" || die "$EXIT_FAIL" "$orig no longer has the hunk header this test shifts"
sed 's/^@@ -7,6 +7,7 @@/@@ -9,6 +9,7 @@/' "$orig" >"$WORK/moved.patch"
sed 's/^ static int cmdline_proc_show(struct seq_file \*m, void \*v)$/ static int cmdline_proc_show(struct seq_file *m, void *data)/' \
	"$orig" >"$WORK/fuzzy.patch"
! cmp -s "$orig" "$WORK/fuzzy.patch" || die "$EXIT_FAIL" "could not make the fuzzy variant of $orig"

rc=0
kg_build "$WORK/moved" build "$LAB" "$WORK/moved.patch" --name livepatch_moved || rc=$?
[ "$rc" = 0 ] || { show_log "$WORK/moved/build.log"; die "$EXIT_FAIL" "the moved hunk was not applied (exit $rc)"; }
[ "$(json_get "$WORK/moved/build.json" '.moved_hunks | length')" = 1 ] &&
	[ "$(json_get "$WORK/moved/build.json" '.moved_hunks[0] | "\(.file) \(.hunk) \(.offset) \(.fuzz)"')" = "fs/proc/cmdline.c 1 -2 0" ] ||
	die "$EXIT_FAIL" "moved_hunks does not list hunk #1 at offset -2: $(jq -c .moved_hunks "$WORK/moved/build.json")"
grep -q 'fs/proc/cmdline.c: hunk #1 applied at line 7 (offset -2 lines)' "$WORK/moved/build.log" ||
	die "$EXIT_FAIL" "the build did not say where the moved hunk went"

rc=0
kg_build "$WORK/fuzzy" build "$LAB" "$WORK/fuzzy.patch" --name livepatch_fuzzy || rc=$?
[ "$rc" = 1 ] || die "$EXIT_FAIL" "a hunk that needs fuzz was not refused (exit $rc)"
[ "$(json_get "$WORK/fuzzy/build.json" .result)" = error ] || die "$EXIT_FAIL" "result is not 'error'"
err=$(json_get "$WORK/fuzzy/build.json" .error)
for want in "fuzzy.patch" "fs/proc/cmdline.c: hunk #1 (@@ -7,6 +7,7 @@)" "--fuzz 1"; do
	case "$err" in *"$want"*) ;; *) die "$EXIT_FAIL" "the error does not say '$want': $err" ;; esac
done
[ -z "$(find "$WORK/fuzzy" -name '*.ko')" ] || die "$EXIT_FAIL" "a module was written for a patch that does not apply"

rc=0
kg_build "$WORK/fuzz1" build "$LAB" "$WORK/fuzzy.patch" --name livepatch_fuzzy --fuzz 1 || rc=$?
[ "$rc" = 0 ] || { show_log "$WORK/fuzz1/build.log"; die "$EXIT_FAIL" "--fuzz 1 did not apply the patch (exit $rc)"; }
[ "$(json_get "$WORK/fuzz1/build.json" '.moved_hunks[0].fuzz')" = 1 ] ||
	die "$EXIT_FAIL" "moved_hunks does not record fuzz 1: $(jq -c .moved_hunks "$WORK/fuzz1/build.json")"
log "PASS: offset hunk applied and reported; fuzzy hunk refused by default, applied with --fuzz 1 and reported"
