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

KPG_PROG=debian-module
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
ex="$repo/examples/module-binfmt-misc"

build build "$ex/module-binfmt-misc.patch" 0
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
