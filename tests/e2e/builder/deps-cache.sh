#!/bin/bash
# e2e: the cache of a full build's dependency lists (BuildDeps::load_cached) follows the
# build directory. --kernel-build is a copy of the lab build's .o.cmd files (with its
# Module.symvers and `source` link); examples/meminfo-string is built four times: the first
# build scans the lists (result JSON: build_deps.cached false), the second reads them from
# the cache (true, same object count); then one .cmd file is removed from the copy, as a
# rebuild of the directory would change it, and the third build must scan again (false, one
# object less), the fourth read the new lists from the cache.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.deps-cache
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_kpatch_gen
find_lab_kernel
make_work_dir deps-cache
kb="$WORK/kbuild"
mkdir -p "$kb"
(cd "$LAB/build" && find . \( -name source -o -name tools -o -name scripts \) -prune -o -name '.*.o.cmd' -printf '%P\0') |
	tar -C "$LAB/build" --null -T - -cf - | tar -C "$kb" -xf -
cp "$LAB/build/Module.symvers" "$kb/"
ln -s "$LAB/src" "$kb/source"
patch="$EXAMPLES/meminfo-string/meminfo-string.patch"
build() { # build TAG
	local rc=0
	kg_build "$WORK/$1" "$1" "$LAB" --kernel-build "$kb" "$patch" || rc=$?
	if [ "$rc" != 0 ]; then
		show_log "$WORK/$1/$1.log"
		die "$EXIT_FAIL" "build '$1' failed (exit $rc)"
	fi
}
deps() { json_get "$WORK/$1/$1.json" '.build_deps | "\(.cached) \(.objects)"'; }
build scan
n=$(json_get "$WORK/scan/scan.json" .build_deps.objects)
[ "$n" -gt 500 ] || die "$EXIT_FAIL" "only $n objects in the dependency lists of $kb"
[ "$(deps scan)" = "false $n" ] || die "$EXIT_FAIL" "first build: build_deps '$(deps scan)', expected a scan"
build cached
[ "$(deps cached)" = "true $n" ] || die "$EXIT_FAIL" "second build: build_deps '$(deps cached)', expected 'true $n'"
gone=kernel/.fork.o.cmd
[ -f "$kb/$gone" ] || die "$EXIT_FAIL" "no $gone in the lab build"
rm "$kb/$gone"
build changed
[ "$(deps changed)" = "false $((n - 1))" ] ||
	die "$EXIT_FAIL" "after removing $gone: build_deps '$(deps changed)', expected 'false $((n - 1))' (a new scan)"
build again
[ "$(deps again)" = "true $((n - 1))" ] || die "$EXIT_FAIL" "fourth build: build_deps '$(deps again)', expected 'true $((n - 1))'"
log "PASS: dependency lists of $n objects scanned, cached, scanned again after a .cmd file went ($((n - 1)) objects), cached"
