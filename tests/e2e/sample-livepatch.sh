#!/bin/sh
# e2e: prove the lab with a livepatch module written by hand, before kpatch-gen exists.
# Compiles the lab kernel's own samples/livepatch/livepatch-sample.c out of tree against
# the lab build dir (make -C <build> M=<tmp>, ~1.3 s), boots the lab kernel, and runs
# sample-livepatch.scenario: the /proc/cmdline probe must fail before load, pass after
# the transition, fail after disable+rmmod; the console must show no oops/WARNING.
# Needs the lab kernel (CTest fixture lab.kernel, or `ci/lab/lab.sh kernel`).
#   sample-livepatch.sh [SCENARIO]   another scenario in this directory for the same module
#                                    (sample-transitions.scenario: 15 cycles under load)
# SPDX-License-Identifier: GPL-2.0-only
set -eu

here=$(cd "$(dirname "$0")" && pwd)
lab="$here/../../ci/lab/lab.sh"

kdir=$("$lab" kernel --print-dir) || {
	echo "sample-livepatch: the lab kernel is not built; run ci/lab/lab.sh kernel" >&2
	exit 1
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kpg-sample.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cp "$kdir/src/samples/livepatch/livepatch-sample.c" "$tmp/"
echo 'obj-m := livepatch-sample.o' >"$tmp/Makefile"
if ! make -C "$kdir/build" M="$tmp" modules >"$tmp/make.log" 2>&1; then
	cat "$tmp/make.log" >&2
	echo "sample-livepatch: building livepatch-sample.ko against $kdir/build failed" >&2
	exit 1
fi

scenario=$here/${1:-sample-livepatch.scenario}
[ -f "$scenario" ] || { echo "sample-livepatch: no scenario $scenario" >&2; exit 2; }
# Not exec: the trap removes $tmp afterwards.
rc=0
"$lab" run "$scenario" --timeout 300 \
	--add "$tmp/livepatch-sample.ko:/kpg/add/livepatch-sample.ko" || rc=$?
exit "$rc"
