#!/bin/bash
# e2e under real systemd: run a scenario directory in a Debian 12 guest booted with Debian's
# own kernel (ci/lab/debian-vm.sh), with kpatch-gen's tools installed as a user installs
# them (`cmake --install --prefix /usr`). The guest disk persists across the boots.
#
#   run.sh SCENARIO_DIR
#
# A scenario directory holds:
#   prepare          optional host-side bash script, run first with RELEASE (the Debian
#                    kernel release), KPATCH_GEN, REPO and FILES (a directory merged into
#                    the guest's /) in the environment; exit 77 = skip the test
#   guest/           copied to /kpg: boot-1.sh, boot-2.sh, ... run in boot 1, 2, ...
#                    (see ci/lab/README.md, "Debian guest with systemd"), and helpers
#   root/            merged into the guest's / (units, configuration)
#   enable           units to enable in the image, one a line
#   packages         extra Debian packages for the guest, one a line (another cached rootfs)
#   boot-N.append    extra kernel command line for boot N
# Every boot-N.sh is one QEMU boot, judged on its own; the test fails at the first failed
# boot. agent-timer/ is such a directory for the agent's timer: its `prepare` publishes a
# repository and its boot script waits for the timer to apply a promoted level.
#
# Environment: KPATCH_GEN (kpatch-gen binary), KPG_BUILD_DIR (the CMake build dir, for
# `cmake --install`), KPG_DEBIAN_RELEASE (default: ci/debian-release.sh), KPG_TEST_LOG_DIR
# (keep console logs there).
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$here/../../.." && pwd)
vm="$REPO/ci/lab/debian-vm.sh"
: "${KPATCH_GEN:?set KPATCH_GEN to the kpatch-gen binary}"
: "${KPG_BUILD_DIR:?set KPG_BUILD_DIR to the CMake build directory}"
if [ $# != 1 ] || [ ! -d "$1" ]; then echo "usage: run.sh SCENARIO_DIR" >&2; exit 2; fi
scenario=$(cd "$1" && pwd)
name=$(basename "$scenario")
say() { echo "systemd.$name: $*"; }

RELEASE=${KPG_DEBIAN_RELEASE:-}
if [ -z "$RELEASE" ] && ! RELEASE=$("$REPO/ci/debian-release.sh"); then
	say "SKIP: no Debian 6.1 kernel matching linux-source-6.1 in the archives"
	exit 77
fi
# The exact package version, so the guest runs the build the module is made for.
version=$(apt-cache show "linux-image-$RELEASE" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$version" ] || { say "SKIP: linux-image-$RELEASE is not in the package lists"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kpg-systemd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
logs=${KPG_TEST_LOG_DIR:-$tmp/logs}
mkdir -p "$logs" "$tmp/files"
t0=$(date +%s%3N)
stamp() { echo "$(( ($(date +%s%3N) - t0) / 100 ))" | sed 's/.$/.&/;s/^\./0./'; }

if [ -f "$scenario/prepare" ]; then
	rc=0
	RELEASE=$RELEASE KPATCH_GEN=$KPATCH_GEN REPO=$REPO FILES="$tmp/files" bash "$scenario/prepare" || rc=$?
	[ "$rc" = 0 ] || { [ "$rc" = 77 ] && say "SKIP (prepare)"; exit "$rc"; }
	say "prepared in $(stamp) s"
fi

# kpatch-load and its unit, where `cmake --install --prefix /usr` puts them.
DESTDIR="$tmp/install" cmake --install "$KPG_BUILD_DIR" --prefix /usr >"$tmp/install.log"

withs=()
if [ -f "$scenario/packages" ]; then
	while read -r p; do [ -z "$p" ] || withs+=(--with "$p"); done <"$scenario/packages"
fi
rootfs=$("$vm" rootfs --release "$RELEASE" --version "$version" ${withs[@]+"${withs[@]}"} | tail -n 1)
say "root file system ready at $(stamp) s: $rootfs"

args=(--add "$tmp/install:/" --add "$scenario/guest:/kpg" --add "$tmp/files:/")
[ ! -d "$scenario/root" ] || args+=(--add "$scenario/root:/")
if [ -f "$scenario/enable" ]; then
	while read -r u; do [ -z "$u" ] || args+=(--enable "$u"); done <"$scenario/enable"
fi
"$vm" image -o "$tmp/disk.img" --rootfs "$rootfs" "${args[@]}"
say "image ready at $(stamp) s"

n=1
while [ -f "$scenario/guest/boot-$n.sh" ]; do
	append=""
	[ ! -f "$scenario/boot-$n.append" ] || append=$(cat "$scenario/boot-$n.append")
	if ! "$vm" boot "$tmp/disk.img" --rootfs "$rootfs" --log "$logs/$name-boot-$n.log" ${append:+--append "$append"}; then
		cp "$logs/$name-boot-$n.log" "/tmp/$name-boot-$n.console.log" 2>/dev/null || true
		say "FAIL in boot $n; console kept in /tmp/$name-boot-$n.console.log"
		exit 1
	fi
	say "boot $n passed at $(stamp) s"
	n=$((n + 1))
done
[ "$n" -gt 1 ] || { say "FAIL: no guest/boot-1.sh in $scenario"; exit 1; }
say "PASS: $((n - 1)) boots in $(stamp) s"
