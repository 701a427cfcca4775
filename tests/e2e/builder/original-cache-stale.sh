#!/bin/bash
# e2e: a cached original is not used once a header it includes has changed. In a private
# cache, over a hard-link copy of the lab's source (the lab's own src/ is never touched):
# examples/meminfo-string is built (original compiled and stored), built again (original from
# the cache), then include/linux/seq_file.h, which fs/proc/meminfo.c includes, gets a comment
# appended in the copy (a new file replacing the hard link: the lab's file stays as it is) and
# the third build must compile the original again, saying why, and the fourth take it from
# the cache again. The private cache costs one prepared tree (about a cold build: 30-90 s).
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.original-cache-stale
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_kpatch_gen
find_lab_kernel
# Next to the lab's cache: the copy must be hard links, the builder's cache on the same file
# system as the source it copies.
TMPDIR=$(dirname "$(dirname "$LAB")") make_work_dir original-cache-stale
export KPATCH_GEN_CACHE="$WORK/cache"
src="$WORK/src"
cp -al "$LAB/src" "$src"
patch="$EXAMPLES/meminfo-string/meminfo-string.patch"
header=include/linux/seq_file.h
grep -q "^#include <linux/seq_file.h>" "$src/fs/proc/meminfo.c" || die "$EXIT_FAIL" "fs/proc/meminfo.c no longer includes $header"
build() { # build TAG: meminfo-string on the copy, the lab kernel as the target
	local rc=0
	mkdir -p "$WORK/$1"
	"$KPG_KPATCH_GEN" build "$patch" --kernel-src "$src" --target-vmlinux "$LAB/build/vmlinux" \
		--target-modules "$LAB/modules" -o "$WORK/$1" --json >"$WORK/$1/result.json" 2>"$WORK/$1/build.log" || rc=$?
	if [ "$rc" != 0 ]; then
		show_log "$WORK/$1/build.log"
		die "$EXIT_FAIL" "build '$1' failed (exit $rc)"
	fi
}
origin() { json_get "$WORK/$1/result.json" '[.units[] | "\(.object) \(.original)"] | join(",")'; }
expect_origin() { # expect_origin TAG ORIGIN
	[ "$(origin "$1")" = "fs/proc/meminfo.o $2" ] || die "$EXIT_FAIL" "build '$1': original from '$(origin "$1")', expected '$2'"
}
build first
expect_origin first kbuild
build cached
expect_origin cached cache
# A new file, not a write through the hard link into the lab's source.
cp "$src/$header" "$src/$header.new"
echo '/* kpatch-gen test: the cached original is stale now */' >>"$src/$header.new"
mv "$src/$header.new" "$src/$header"
cmp -s "$LAB/src/$header" "$src/$header" && die "$EXIT_FAIL" "the copy's $header did not change"
build changed
expect_origin changed kbuild
has -F "fs/proc/meminfo.o: original compiled again: $header changed since it was cached" <"$WORK/changed/build.log" ||
	die "$EXIT_FAIL" "the progress does not say why the original was compiled again"
build again
expect_origin again cache
log "PASS: the original is compiled again after $header changed, and cached again"
