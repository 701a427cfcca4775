#!/bin/bash
# e2e: live-patch Debian's real kernel. Builds modules with
# `kpatch-gen build --debian-kernel RELEASE` for three examples (a /proc/cmdline string, a
# /proc/meminfo label, a new helper function), boots Debian's own vmlinuz from the
# linux-image package under QEMU with the lab's initramfs, and checks each probe before
# load, after the transition and after unload, and that the kernel log has no oops or
# warning (the taint notice of an unsigned out-of-tree module is expected).
# Skips (exit 77) only when the packages cannot be installed or fetched.
#   KPG_DEBIAN_RELEASE   release to test (default: ci/debian-release.sh)
#   KPG_DEBIAN_SERIES    6.1 (default) or 6.12: the series ci/debian-release.sh picks from
#                        (debian.kernel-6.12: Debian 13's kernel as bookworm carries it)
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

KPG_PROG=debian-kernel
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
examples=(cmdline-string meminfo-string new-function)

scenario="$tmp/scenario"
echo '. /kpg/lib.sh' >"$scenario"
adds=()
vmlinuz=
for e in "${examples[@]}"; do
	build "$e" "$(kpg_example_file "$repo/examples/$e" "$e.patch" "$series")" 0
	ko=$(jq -r '.output.module' "$tmp/$e.json")
	name=$(basename "$ko" .ko)
	[ "$(jq -r '.target.release' "$tmp/$e.json")" = "$release" ] ||
		fail "$ko records target $(jq -r '.target.release' "$tmp/$e.json"), not $release"
	vmlinuz=$(jq -r '.debian.vmlinuz' "$tmp/$e.json")
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
