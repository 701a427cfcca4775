#!/bin/sh
# e2e driver for kpatch-load: builds the test modules in modules/ out of tree against the
# lab kernel (with the lab vmlinux's release and build ID in their .modinfo, as the builder
# will write them), adds them and a stripped copy of the static kpatch-load binary to the
# initramfs, and runs scenarios/SCENARIO.scenario in the lab.
#
#   run.sh SCENARIO KPATCH_LOAD_BINARY [lab.sh run options...]
#
# Needs the lab kernel (CTest fixture lab-kernel, or `ci/lab/lab.sh kernel`).
# SPDX-License-Identifier: GPL-2.0-only
set -eu

here=$(cd "$(dirname "$0")" && pwd)
lab="$here/../../../ci/lab/lab.sh"
[ $# -ge 2 ] || { echo "usage: run.sh SCENARIO KPATCH_LOAD_BINARY [lab.sh run options]" >&2; exit 2; }
scenario=$1 bin=$2
shift 2
[ -f "$here/scenarios/$scenario.scenario" ] || { echo "run.sh: no scenario '$scenario'" >&2; exit 2; }
[ -x "$bin" ] || { echo "run.sh: kpatch-load binary '$bin' not found (build the kpatch-load target)" >&2; exit 1; }

kdir=$("$lab" kernel --print-dir) || {
	echo "loader e2e: the lab kernel is not built; run ci/lab/lab.sh kernel" >&2
	exit 1
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kpg-loader-e2e.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

bid=$(readelf -n "$kdir/build/vmlinux" | sed -n 's/^ *Build ID: *\([0-9a-f]*\).*/\1/p' | head -n 1)
rel=$(cat "$kdir/build/include/config/kernel.release")
[ -n "$bid" ] && [ -n "$rel" ] || { echo "loader e2e: cannot read build ID/release of $kdir/build" >&2; exit 1; }

mkdir "$tmp/mods"
cp "$here/modules/"* "$tmp/mods/"
if ! make -C "$kdir/build" M="$tmp/mods" KPG_BUILD_ID="$bid" KPG_RELEASE="$rel" modules >"$tmp/make.log" 2>&1; then
	cat "$tmp/make.log" >&2
	echo "loader e2e: building the test modules against $kdir/build failed" >&2
	exit 1
fi

# A module "built for another release": v1 with one character of the vermagic release
# changed (same length, so the ELF layout is untouched). The kernel would refuse it too,
# but only after finit_module; kpatch-load must refuse it before.
python3 - "$tmp/mods/kpg_cmdline_v1.ko" "$tmp/mods/kpg_wrong_release.ko" "$rel" <<'PY'
import sys
src, dst, rel = sys.argv[1:]
other = rel[:-1] + ("0" if rel[-1] != "0" else "1")
data = open(src, "rb").read()
old = ("vermagic=" + rel + " ").encode()
assert data.count(old) == 1, "vermagic not found once"
open(dst, "wb").write(data.replace(old, ("vermagic=" + other + " ").encode()))
PY

strip -o "$tmp/kpatch-load" "$bin"
echo "$bid" >"$tmp/build-id"
set -- --add "$tmp/kpatch-load:/kpg/add/kpatch-load" \
	--add "$here/scenarios/loader-lib.sh:/kpg/add/loader-lib.sh" \
	--add "$tmp/build-id:/kpg/add/build-id" "$@"
for ko in "$tmp/mods/"*.ko; do
	set -- --add "$ko:/kpg/add/$(basename "$ko")" "$@"
done
case $scenario in
stress) timeout=900 ;;
*) timeout=240 ;;
esac
exec "$lab" run "$here/scenarios/$scenario.scenario" --timeout "$timeout" "$@"
