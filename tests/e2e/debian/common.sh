# shellcheck shell=bash disable=SC2034  # lab and KPG_PROG are for the sourcing test
# The shared prologue of the tests that build for Debian's own kernel (sourced after
# `set -euo pipefail`, with KPG_PROG set to the test's name for its messages). Sets:
#   here repo lab   this directory, the repository, ci/lab/lab.sh
#   release         KPG_DEBIAN_RELEASE, else ci/debian-release.sh (the kernel of series
#                   KPG_DEBIAN_SERIES, 6.1 by default, matching linux-source-<series>); none
#                   is a skip (exit 77)
#   series          6.1 or 6.12, the kernel line of `release`
#   tmp             a work directory, removed at exit unless KEEP is set
# and defines fail MESSAGE (exit 1) and build NAME PATCH EXPECTED_EXIT.
# SPDX-License-Identifier: GPL-2.0-only

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
lab="$repo/ci/lab/lab.sh"
# shellcheck source-path=SCRIPTDIR source=../../has.sh
. "$repo/tests/has.sh"
# shellcheck source=../../../ci/lab/common.sh
. "$repo/ci/lab/common.sh" # kpg_example_file, kpg_debian_line
: "${KPATCH_GEN:?set KPATCH_GEN to the kpatch-gen binary}"

fail() {
	echo "$KPG_PROG: FAIL: $*" >&2
	exit 1
}

release=${KPG_DEBIAN_RELEASE:-}
series=${KPG_DEBIAN_SERIES:-6.1}
if [ -z "$release" ]; then
	if ! release=$(KPG_DEBIAN_SERIES=$series "$repo/ci/debian-release.sh"); then
		echo "$KPG_PROG: SKIP: no Debian $series kernel matching linux-source-$series in the archives" >&2
		exit 77
	fi
fi
series=$(kpg_debian_line "$release")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kpg-$KPG_PROG.XXXXXX")
trap '[ "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
echo "$KPG_PROG: target $release"

# build NAME PATCH EXPECTED_EXIT: `kpatch-gen build --debian-kernel` into $tmp/NAME
# ($tmp/NAME.json, $tmp/NAME.log); a different exit prints the log and fails, except that a
# failure to fetch the kernel's packages is a skip (the archive dropped that version).
build() {
	local name=$1 patch=$2 want=$3 rc=0
	"$KPATCH_GEN" build "$patch" --debian-kernel "$release" -o "$tmp/$name" --json \
		>"$tmp/$name.json" 2>"$tmp/$name.log" || rc=$?
	if [ "$rc" != "$want" ]; then
		cat "$tmp/$name.log" >&2
		if grep -qE "no such package in the configured archives|apt-get download failed|no version .* in the archives" "$tmp/$name.log"; then
			echo "$KPG_PROG: SKIP: the packages of $release cannot be fetched" >&2
			exit 77
		fi
		fail "kpatch-gen build $(basename "$patch") for $release exited $rc, expected $want"
	fi
	echo "$KPG_PROG: $(basename "$patch"): exit $rc in $(jq -r '.total_seconds' "$tmp/$name.json") s" \
		"(packages: $(jq -r '.debian.provision_seconds // "-"' "$tmp/$name.json") s)"
}
