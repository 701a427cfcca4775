#!/bin/sh
# Install everything kpatch-gen needs to build and test, from Debian 12 packages only.
# Idempotent: packages already present are skipped, and apt-get update runs only when
# something is missing. Safe to run as root in CI and on a developer machine.
#
#   ci/install-deps.sh            toolchain + test dependencies + kernel lab
#   ci/install-deps.sh --no-lab   toolchain + unit/functional test dependencies only
#   ci/install-deps.sh --debian-kernel   also Debian's cloud kernel image/-dbg/headers
set -eu

lab=1
debian=0
for arg in "$@"; do
	case "$arg" in
	--no-lab) lab=0 ;;
	--debian-kernel) debian=1 ;;
	-h|--help) sed -n '2,8p' "$0"; exit 0 ;;
	*) echo "install-deps.sh: unknown option '$arg'" >&2; exit 2 ;;
	esac
done

# openssl: test keys for module signatures (tests/unit/builder/sign_test.cc, functional
# sign-*.sh) and the kernel's own key generation when it signs its modules.
# strace: functional no-change-skips-dwarf-read.sh counts the files the diff opens.
# ccache: a clean clone's build takes compiles seen before from the cache (CMakeLists.txt).
pkgs="build-essential cmake ninja-build pkg-config git patch patchutils
libelf-dev libdwarf-dev llvm-16-dev clang-16 libclang-rt-16-dev libfmt-dev libcli11-dev
libgtest-dev libgmock-dev nlohmann-json3-dev zlib1g-dev libzstd-dev libssl-dev libcurl4-openssl-dev openssl
binutils elfutils python3 time jq dwarves curl nginx strace ccache"
# mmdebstrap, e2fsprogs (mkfs.ext4 -d) and systemd (systemctl --root): the Debian guest
# with systemd of ci/lab/debian-vm.sh.
labpkgs="linux-source-6.1 linux-source-6.12 qemu-system-x86 busybox-static bc bison flex cpio xz-utils kmod
rsync libncurses-dev mmdebstrap e2fsprogs systemd"

want="$pkgs"
[ "$lab" = 1 ] && want="$want $labpkgs"
# tuf-js (the repository interoperability tests, tests/repo) runs on node; its setup installs
# it from the npm registry. A node that is already there (e.g. a newer one from elsewhere)
# is kept: Debian's npm would conflict with it.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	want="$want nodejs npm"
fi

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps.sh: need root to install:$missing" >&2
		exit 1
	fi
	echo "install-deps.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
else
	echo "install-deps.sh: all packages present"
fi

if [ "$debian" = 1 ]; then
	exec "$(dirname "$0")/debian-kernel-pkgs.sh"
fi
