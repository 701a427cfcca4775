#!/bin/bash
# e2e: live-patch Debian's real kernel. Builds modules with
# `kpatch-gen build --debian-kernel RELEASE` for three examples (a /proc/cmdline string, a
# /proc/meminfo label, a new helper function), boots Debian's own vmlinuz from the
# linux-image package under QEMU with the lab's initramfs, and checks each probe before
# load, after the transition and after unload, and that the kernel log has no oops or
# warning (the taint notice of an unsigned out-of-tree module is expected).
# Skips (exit 77) only when the packages cannot be installed or fetched.
#   KPG_DEBIAN_RELEASE   release to test (default: ci/debian-release.sh)
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
lab="$repo/ci/lab/lab.sh"
: "${KPATCH_GEN:?set KPATCH_GEN to the kpatch-gen binary}"
examples=(cmdline-string meminfo-string new-function)

release=${KPG_DEBIAN_RELEASE:-}
if [ -z "$release" ]; then
	if ! release=$("$repo/ci/debian-release.sh"); then
		echo "debian-kernel: SKIP: no Debian 6.1 kernel matching linux-source-6.1 in the archives" >&2
		exit 77
	fi
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kpg-debian.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "debian-kernel: target $release"

scenario="$tmp/scenario"
echo '. /kpg/lib.sh' >"$scenario"
adds=()
vmlinuz=
for e in "${examples[@]}"; do
	rc=0
	"$KPATCH_GEN" build "$repo/examples/$e/$e.patch" --debian-kernel "$release" -o "$tmp/$e" --json \
		>"$tmp/$e.json" 2>"$tmp/$e.log" || rc=$?
	if [ "$rc" != 0 ]; then
		cat "$tmp/$e.log" >&2
		# Only a failure to get the packages is a skip; everything else is a failure.
		if grep -qE "no such package in the configured archives|apt-get download failed|no version .* in the archives" "$tmp/$e.log"; then
			echo "debian-kernel: SKIP: the packages of $release cannot be fetched" >&2
			exit 77
		fi
		echo "debian-kernel: FAIL: kpatch-gen build of examples/$e for $release exited $rc" >&2
		exit 1
	fi
	ko=$(jq -r '.output.module' "$tmp/$e.json")
	name=$(basename "$ko" .ko)
	[ "$(jq -r '.target.release' "$tmp/$e.json")" = "$release" ] || {
		echo "debian-kernel: FAIL: $ko records target $(jq -r '.target.release' "$tmp/$e.json"), not $release" >&2
		exit 1
	}
	vmlinuz=$(jq -r '.debian.vmlinuz' "$tmp/$e.json")
	echo "debian-kernel: built $ko in $(jq -r '.total_seconds' "$tmp/$e.json") s (packages: $(jq -r '.debian.provision_seconds' "$tmp/$e.json") s)"
	adds+=(--add "$ko:/kpg/add/$name.ko")
	probe=$(cat "$repo/examples/$e/probe")
	printf 'kpg_loaded_probe /kpg/add/%s.ko %q\n' "$name" "$probe" >>"$scenario"
done
# Every probe again, all three modules stacked would replace each other (atomic replace):
# the three loaded-probe runs above already load, check and remove each in turn.
echo 'kpg_check "running kernel is Debian'"'"'s" sh -c "uname -r | grep -qx '"$release"'"' >>"$scenario"

"$lab" initramfs -o "$tmp/initrd.cpio" --scenario "$scenario" "${adds[@]}"
log="${KPG_TEST_LOG_DIR:-$tmp}/debian-$release.console.log"
rc=0
KPG_LAB_UNVERIFIED_KERNEL=1 "$lab" boot --kernel "$vmlinuz" --initrd "$tmp/initrd.cpio" --timeout 300 --log "$log" || rc=$?
if [ "$rc" != 0 ]; then
	cp "$log" "/tmp/debian-$release.console.log" 2>/dev/null || true
	echo "debian-kernel: FAIL: boot of $vmlinuz failed (exit $rc); console kept in /tmp/debian-$release.console.log" >&2
	exit 1
fi
if ! "$lab" judge "$log"; then
	cp "$log" "/tmp/debian-$release.console.log"
	echo "debian-kernel: FAIL: console kept in /tmp/debian-$release.console.log" >&2
	exit 1
fi
grep -q "loading out-of-tree module taints kernel" "$log" || {
	echo "debian-kernel: FAIL: no module was loaded (no taint notice in the kernel log)" >&2
	exit 1
}
echo "debian-kernel: PASS: ${#examples[@]} modules built for and loaded into Debian's $release"
