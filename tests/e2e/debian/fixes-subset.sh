#!/bin/bash
# e2e debian.fixes-subset (tests/e2e/debian/CMakeLists.txt): a subset of the real-fix
# corpus of bench/fixes, each case built on its own for Debian's 6.1.0-53-cloud-amd64 with
# `kpatch-gen build --debian-kernel`, every module loaded into that kernel under QEMU with
# kpatch-load, and every outcome checked against bench/corpus/cases. One case per behaviour:
#
#   ebt_dnat            a file built as a module (ebt_dnat.ko; the image's .ko are stripped)
#   exthdrs_core        an exported function (ipv6_find_hdr, EXPORT_SYMBOL)
#   cxl-region          dynamic debug sites moved by the patch (struct _ddebug in __dyndbg);
#                       its probe checks that the patched sites are registered under the
#                       patch module's name in /proc/dynamic_debug/control
#   keys-persistent     read-only static locals (__func__ / CSWTCH-style const data) whose
#                       size or users change
#   kpatch-af_unix      a kpatch-style patch (#include "kpatch-macros.h", callbacks,
#                       KPATCH_PRINTK) for a real fix; its callbacks' messages must appear
#                       in the kernel log, post-patch before pre-unpatch
#   usb_debug           a file this kernel does not build (kbuild never enters drivers/usb/)
#
# Exit: 0 pass, 1 fail, 77 skip (the archive no longer has the packages of the corpus).
# Needs KPATCH_GEN and KPATCH_LOAD (the binaries) and the lab kernel (for the initramfs).
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../has.sh
. "$repo/tests/has.sh"
: "${KPATCH_GEN:?set KPATCH_GEN to the kpatch-gen binary}"
: "${KPATCH_LOAD:?set KPATCH_LOAD to the kpatch-load binary}"
cases=(ebt_dnat exthdrs_core cxl-region keys-persistent kpatch-af_unix usb_debug)

# The corpus pins package versions; Debian's security archive drops old ones eventually.
release=$(awk '$1 == "@release" { print $2 }' "$repo/bench/corpus/cases")
old=$(awk '$1 == "@old" { print $2 }' "$repo/bench/corpus/cases")
new=$(awk '$1 == "@new" { print $2 }' "$repo/bench/corpus/cases")
for pv in "linux-image-$release-dbg=$old" "linux-source-6.1=$old" "linux-source-6.1=$new"; do
	if ! apt-cache madison "${pv%%=*}" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | has -x "${pv#*=}"; then
		echo "fixes-subset: SKIP: ${pv%%=*} ${pv#*=} is not in the configured archives" >&2
		exit 77
	fi
done

out=$(mktemp -d "${TMPDIR:-/tmp}/kpg-fixes-subset.XXXXXX")
trap 'rm -rf "$out"' EXIT
rc=0
"$repo/bench/fixes" --kpatch-gen "$KPATCH_GEN" --kpatch-load "$KPATCH_LOAD" --out "$out" \
	--timeout 900 "${cases[@]}" || rc=$?
case $rc in
0) ;;
3) echo "fixes-subset: SKIP: a prerequisite of bench/fixes is missing" >&2 && exit 77 ;;
*)
	[ -f "$out/boot/console.log" ] && cp "$out/boot/console.log" /tmp/fixes-subset.console.log
	echo "fixes-subset: FAIL: bench/fixes exited $rc (table above; console in /tmp/fixes-subset.console.log)" >&2
	exit 1
	;;
esac

fail=0
check() { # check WHAT CMD...
	local what=$1
	shift
	if "$@"; then
		echo "fixes-subset: ok: $what" >&2
	else
		echo "fixes-subset: FAIL: $what" >&2
		fail=1
	fi
}
# Every case present in the results with verdict ok (bench/fixes exits 0 only then, but
# a case silently missing from the table must fail too).
# shellcheck disable=SC2016 # awk programs
for c in "${cases[@]}"; do
	check "$c: verdict ok" awk -F'\t' -v c="$c" '$1 == c && $5 == "ok" { f = 1 } END { exit !f }' "$out/results.tsv"
done
# Modules really went through QEMU.
# shellcheck disable=SC2016 # awk programs
for c in ebt_dnat exthdrs_core cxl-region keys-persistent kpatch-af_unix; do
	check "$c: loaded, transitioned and unloaded" awk -F'\t' -v c="$c" '$1 == c && $4 == "loaded" { f = 1 } END { exit !f }' "$out/results.tsv"
done
# The kpatch callbacks ran, in order: post-patch at load, pre-unpatch at unload.
log=$out/boot/console.log
in_order() {
	local a b
	a=$(tr -d '\r' <"$log" | grep -n -m1 'af_unix: read_skb SCM fix applied' | cut -d: -f1)
	b=$(tr -d '\r' <"$log" | grep -n -m1 'af_unix: read_skb SCM fix being removed' | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}
check "kpatch-af_unix: KPATCH_POST_PATCH_CALLBACK then KPATCH_PRE_UNPATCH_CALLBACK ran" in_order
# The file not built was answered without compiling anything.
check "usb_debug: not built, nothing compiled" bash -c "! grep -q ' -c -o ' '$out/cases/usb_debug/build.log'"
[ "$fail" = 0 ] || exit 1
echo "fixes-subset: PASS: ${#cases[@]} cases" >&2
