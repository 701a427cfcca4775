#!/bin/bash
# e2e: a fix to code built as a module of Debian's own kernel (issue 10, class 1). Debian's
# .ko files are stripped (no STT_FILE symbols); kpatch-gen resolves the module's symbols in
# the -dbg package's unstripped copy under /usr/lib/debug/lib/modules/<release>/ and keeps
# the shipped .ko as the module the kernel loads. examples/module-binfmt-misc (a string in
# bm_status_read(), which reads the static `enabled` of binfmt_misc.ko) is built for
# Debian's kernel, then Debian's vmlinuz boots under QEMU with the shipped binfmt_misc.ko:
# insmod, mount, the probe fails, the patch loads and transitions, the probe passes, the
# patch unloads, the probe fails again; then, with the patch loaded again, binfmt_misc is
# unloaded and loaded again and the probe still passes (class 11); the kernel log is clean.
# Skips (exit 77) only when the packages cannot be installed or fetched.
#   KPG_DEBIAN_RELEASE   release to test (default: ci/debian-release.sh)
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
# shellcheck source=../../has.sh
. "$repo/tests/has.sh"
lab="$repo/ci/lab/lab.sh"
: "${KPATCH_GEN:?set KPATCH_GEN to the kpatch-gen binary}"
ex="$repo/examples/module-binfmt-misc"

release=${KPG_DEBIAN_RELEASE:-}
if [ -z "$release" ]; then
	if ! release=$("$repo/ci/debian-release.sh"); then
		echo "debian-module: SKIP: no Debian 6.1 kernel matching linux-source-6.1 in the archives" >&2
		exit 77
	fi
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kpg-debian-module.XXXXXX")
trap '[ "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
echo "debian-module: target $release"
fail() {
	echo "debian-module: FAIL: $*" >&2
	exit 1
}

rc=0
"$KPATCH_GEN" build "$ex/module-binfmt-misc.patch" --debian-kernel "$release" -o "$tmp/out" --json \
	>"$tmp/build.json" 2>"$tmp/build.log" || rc=$?
if [ "$rc" != 0 ]; then
	cat "$tmp/build.log" >&2
	if grep -qE "no such package in the configured archives|apt-get download failed|no version .* in the archives" "$tmp/build.log"; then
		echo "debian-module: SKIP: the packages of $release cannot be fetched" >&2
		exit 77
	fi
	fail "kpatch-gen build of examples/module-binfmt-misc for $release exited $rc"
fi
echo "debian-module: built in $(jq -r '.total_seconds' "$tmp/build.json") s"
target=$(jq -r '.units[0].target' "$tmp/build.json")
shipped=$(jq -r '.units[0].shipped' "$tmp/build.json")
[ "$(jq -r '.units[0].objname' "$tmp/build.json")" = binfmt_misc ] || fail "the unit is not binfmt_misc's"
case "$target" in */usr/lib/debug/lib/modules/"$release"/*/binfmt_misc.ko) ;; *) fail "symbols were not resolved in the -dbg copy: $target" ;; esac
case "$shipped" in */usr/lib/debug/*) fail "the shipped module is the debug copy: $shipped" ;; */lib/modules/"$release"/*/binfmt_misc.ko) ;; *) fail "no shipped module recorded: $shipped" ;; esac
# The premise: the shipped module is stripped, the debug copy is not.
[ -z "$(readelf -sW "$shipped" | awk '$4 == "FILE"')" ] || fail "premise: $shipped has FILE symbols"
readelf -sW "$target" | awk '$4 == "FILE" {print $8}' | has -x binfmt_misc.c || fail "premise: $target has no FILE symbol binfmt_misc.c"
ko=$(jq -r '.output.module' "$tmp/build.json")
readelf -sW "$ko" | has ' \.klp\.sym\.binfmt_misc\.enabled,0$' ||
	fail "no livepatch relocation to binfmt_misc's static 'enabled' in $ko"
name=$(basename "$ko" .ko)
vmlinuz=$(jq -r '.debian.vmlinuz' "$tmp/build.json")
modpath=${shipped#*/lib/modules/}

scenario="$tmp/scenario"
{
	echo '. /kpg/lib.sh'
	echo 'kpg_check "binfmt_misc: insmod and mount" sh /kpg/add/setup'
	printf 'kpg_loaded_probe /kpg/add/%s.ko %q\n' "$name" "$(cat "$ex/probe")"
	# Class 11: binfmt_misc unloaded and loaded again under its patch (6.1 needs the patch
	# module to clear its relocations into binfmt_misc: text_poke through vmlinux klp relocs).
	printf 'kpg_check "%s: load again" kpg_load_livepatch /kpg/add/%s.ko\n' "$name" "$name"
	echo 'kpg_check "binfmt_misc: rmmod and insmod under the patch" sh -c "umount /proc/sys/fs/binfmt_misc && rmmod binfmt_misc && sh /kpg/add/setup"'
	printf 'kpg_probe "probe passes after the reload" %q\n' "$(cat "$ex/probe")"
	printf 'kpg_check "%s: disable" kpg_disable_livepatch %s\n' "$name" "$name"
	printf 'kpg_check "%s: rmmod" kpg_rmmod %s\n' "$name" "$name"
	echo 'kpg_check "running kernel is Debian'"'"'s" sh -c "uname -r | grep -qx '"$release"'"'
	echo 'kpg_summary'
} >"$scenario"
"$lab" initramfs -o "$tmp/initrd.cpio" --scenario "$scenario" --add "$ko:/kpg/add/$name.ko" \
	--add "$ex/setup:/kpg/add/setup" --add "$shipped:/lib/modules/$modpath"
log="${KPG_TEST_LOG_DIR:-$tmp}/debian-module-$release.console.log"
rc=0
KPG_LAB_UNVERIFIED_KERNEL=1 "$lab" boot --kernel "$vmlinuz" --initrd "$tmp/initrd.cpio" --timeout 300 --log "$log" || rc=$?
if [ "$rc" != 0 ] || ! "$lab" judge "$log"; then
	cp "$log" "/tmp/debian-module-$release.console.log" 2>/dev/null || true
	fail "the boot of $vmlinuz failed or its log is not clean (exit $rc); console kept in /tmp/debian-module-$release.console.log"
fi
grep -q "KPG-RESULT PASS $name: probe passes while patched" "$log" || fail "the patched probe did not pass (console: $log)"
echo "debian-module: PASS: binfmt_misc.ko (stripped) patched through its -dbg copy; load, probe, reload under the patch, unload on Debian's $release"
