#!/bin/bash
# e2e: the cache of compiled originals (builder/original_cache.h) changes nothing in the
# module. examples/meminfo-string is built three times on the lab kernel: with
# --no-original-cache (kbuild compiles the original afresh), then twice with the cache. The
# third build must take the original from the cache (result JSON: units[].original is
# "cache", and the progress says so) and the full build's dependency lists from theirs
# (build_deps.cached), and compile only the patched side, by the original's recorded kbuild
# command instead of make (units[].patched is "recorded command"; the first two builds' is
# "kbuild"), and the three modules must be byte-identical.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.original-cache
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_kpatch_gen
find_lab_kernel
make_work_dir original-cache
patch="$EXAMPLES/meminfo-string/meminfo-string.patch"
ko=$(default_module_name meminfo-string).ko
for tag in fresh first second; do
	args=()
	if [ "$tag" = fresh ]; then args=(--no-original-cache); fi
	rc=0
	kg_build "$WORK/$tag" "$tag" "$LAB" ${args[@]+"${args[@]}"} "$patch" || rc=$?
	if [ "$rc" != 0 ]; then
		show_log "$WORK/$tag/$tag.log"
		die "$EXIT_FAIL" "build '$tag' failed (exit $rc)"
	fi
done
origin() { json_get "$WORK/$1/$1.json" '[.units[] | "\(.object) \(.original)"] | join(",")'; }
[ "$(origin fresh)" = "fs/proc/meminfo.o kbuild" ] || die "$EXIT_FAIL" "--no-original-cache build: original from '$(origin fresh)'"
[ "$(origin second)" = "fs/proc/meminfo.o cache" ] ||
	die "$EXIT_FAIL" "second cached build: original from '$(origin second)', expected the cache"
has 'fs/proc/meminfo.o: original from the cache' <"$WORK/second/second.log" ||
	die "$EXIT_FAIL" "the progress does not say the original came from the cache"
patched_by() { json_get "$WORK/$1/$1.json" '[.units[] | .patched] | join(",")'; }
[ "$(patched_by fresh)" = kbuild ] || die "$EXIT_FAIL" "--no-original-cache build: patched side by '$(patched_by fresh)'"
[ "$(patched_by second)" = "recorded command" ] ||
	die "$EXIT_FAIL" "second cached build: patched side by '$(patched_by second)', expected the recorded command"
has -F "fs/proc/meminfo.o: compiling the patched side with the original's recorded kbuild command" <"$WORK/second/second.log" ||
	die "$EXIT_FAIL" "the progress does not say the patched side ran the recorded command"
[ "$(json_get "$WORK/second/second.json" .build_deps.cached)" = true ] ||
	die "$EXIT_FAIL" "the full build's dependency lists were scanned again: $(jq -c .build_deps "$WORK/second/second.json")"
for tag in first second; do
	cmp "$WORK/fresh/$ko" "$WORK/$tag/$ko" ||
		die "$EXIT_FAIL" "the '$tag' module differs from the one built with --no-original-cache"
	[ "$(json_get "$WORK/$tag/$tag.json" .sha256)" = "$(json_get "$WORK/fresh/fresh.json" .sha256)" ] ||
		die "$EXIT_FAIL" "the '$tag' result reports another sha256"
done
log "PASS: original from the cache, module byte-identical to a fresh compile's ($(json_get "$WORK/second/second.json" .sha256))"
