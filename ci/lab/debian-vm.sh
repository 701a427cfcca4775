#!/bin/bash
# kpatch-gen Debian VM: a minimal Debian 12 system with systemd, booted in QEMU with Debian's
# own kernel from a disk image that persists across reboots. Where the lab (lab.sh) runs a
# scenario as PID 1 of a busybox initramfs, this runs it as a systemd service of a real
# Debian installation, so that what a user installs (kpatch-load, its boot unit, later the
# agent's service and timer) is tested as the user has it. Run `debian-vm.sh --help`.
#
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly LAB_DIR
KPG_PROG=debian-vm
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$LAB_DIR/common.sh"
readonly GUEST_DIR="$LAB_DIR/debian-vm"
readonly CACHE_ROOT="${KPATCH_GEN_CACHE:-$HOME/.cache/kpatch-gen}/debian-vm"
readonly SUITE=bookworm
readonly MIRROR="${KPG_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly SECURITY_MIRROR="${KPG_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# Bump when the rootfs recipe changes in a way that makes old cache dirs wrong.
readonly RECIPE_VERSION=1
# What every guest has beyond mmdebstrap's minbase (Essential + apt): systemd as init,
# udev (device nodes and /dev/disk), initramfs-tools (Debian's initramfs for the kernel:
# virtio_blk is a module in the cloud kernel), busybox (usleep for the guest library, httpd
# for a repository served on the guest's loopback).
readonly BASE_PACKAGES="systemd systemd-sysv udev initramfs-tools busybox"

usage() {
	cat <<'EOF'
Usage: debian-vm.sh COMMAND [OPTIONS]

A Debian 12 guest with systemd and Debian's kernel, on a disk image that persists across
reboots (QEMU, TCG).

Commands:
  rootfs --release RELEASE [--version VERSION] [--with PKG]... [--print-dir]
      Build (mmdebstrap, minbase + systemd, udev, initramfs-tools, busybox and
      linux-image-RELEASE, VERSION if given) or reuse the root file system. Cached in
      $KPATCH_GEN_CACHE/debian-vm/bookworm-RELEASE-<hash12>/ (default ~/.cache/kpatch-gen),
      keyed by the package list and the mirrors; holds rootfs/ (the tree, with
      boot/vmlinuz-RELEASE and boot/initrd.img-RELEASE made by initramfs-tools), packages
      (the list) and complete (stamp, written last). Prints the dir as the last stdout
      line; with --print-dir only if it exists (else exit 1). --with PKG adds a package
      (another cache dir): the hook for tests that need more in the guest.

  image -o DISK.img --rootfs DIR [--add HOSTPATH:/GUESTPATH]... [--enable UNIT]... [--size SIZE]
      Make a raw ext4 disk image (mkfs.ext4 -d: no mounts, no loop devices) from the cached
      rootfs plus the harness (below) and the added files (a directory is added with its
      contents). --enable UNIT enables a unit of the image (systemctl --root). The cache is
      never written: the image is assembled in a hard-linked copy in which every added
      file replaces, never overwrites, the linked one.

  boot DISK.img --rootfs DIR [--append ARGS] [--timeout S] [--log FILE]
      Boot the image once (qemu-system-x86_64 -m 1024, -smp 2 or 1 as for lab.sh boot,
      -kernel/-initrd from the rootfs, root=/dev/vda) until the guest powers off or reboots (-no-reboot: a reboot
      ends this boot; boot again for the next). Judges the console like `lab.sh run`
      (KPG-RESULT lines, KPG-DONE, no oops/BUG/WARNING in the kernel log). Default timeout
      900 s. The console log is kept in FILE (default: a temp file, kept on failure).

The harness in the guest (ci/lab/debian-vm/): kpg-scenario.service runs after
multi-user.target; it counts boots in /kpg/state/boots and runs /kpg/boot-N.sh for boot N
(add them with --add), with the lab's guest library at /kpg/lib.sh, writing to the
serial console; then it prints KPG-SCENARIO-EXIT, the kernel log (KPG-DMESG), the journal
of the boot if a check failed (KPG-JOURNAL), KPG-DONE, and powers off, or reboots when the
script wrote "reboot" to /kpg/state/next. The serial getty is masked and systemd's status
output is off, so the console carries only the harness's lines and kernel alerts.

Environment:
  KPATCH_GEN_CACHE            cache root (default ~/.cache/kpatch-gen)
  KPG_DEBIAN_MIRROR           Debian archive (default http://deb.debian.org/debian)
  KPG_DEBIAN_SECURITY_MIRROR  security archive (default http://deb.debian.org/debian-security)

Exit codes: 0 ok, 1 a check failed, 2 usage, 3 missing prerequisite, 4 rootfs build or
image failed, 5 boot failed/timed out/no KPG-DONE.
EOF
}

# ---------------------------------------------------------------------------------------
# rootfs
# ---------------------------------------------------------------------------------------

PACKAGES=""
ROOTFS_DIR=""
RELEASE=""
resolve_rootfs() { # resolve_rootfs RELEASE VERSION EXTRA...
	local release=$1 version=$2 key
	shift 2
	case "$release" in '' | *[!a-z0-9.+-]*) die $EXIT_USAGE "rootfs: --release '$release' is not a kernel release" ;; esac
	RELEASE=$release
	# shellcheck disable=SC2086 # BASE_PACKAGES is a list
	PACKAGES=$(printf '%s\n' $BASE_PACKAGES "linux-image-$release${version:+=$version}" "$@" | sort -u | paste -sd' ')
	key=$({
		echo "recipe $RECIPE_VERSION"
		echo "suite $SUITE"
		echo "mirrors $MIRROR $SECURITY_MIRROR"
		echo "packages $PACKAGES"
	} | sha256sum | cut -c1-12)
	ROOTFS_DIR="$CACHE_ROOT/$SUITE-$release-$key"
}

build_rootfs() {
	local dir=$1 logf="$1/build.log" t0
	need_tool mmdebstrap
	[ "$(id -u)" = 0 ] || die $EXIT_MISSING "rootfs: building the root file system needs root (mmdebstrap --mode=root)"
	t0=$(now_ms)
	rm -rf "$dir"
	mkdir -p "$dir"
	log "building the Debian $SUITE root file system in $dir (log: $logf); packages: $PACKAGES"
	stage_begin "mmdebstrap $SUITE"
	# minbase: Essential packages and apt; no recommends (a small, predictable system). The
	# kernel package's postinst runs initramfs-tools in the chroot, which is what makes
	# boot/initrd.img-RELEASE. The sources inside the guest are the same mirrors.
	if ! mmdebstrap --mode=root --variant=minbase \
		--aptopt='APT::Install-Recommends "false"' \
		--include="$(echo "$PACKAGES" | tr ' ' ',')" \
		"$SUITE" "$dir/rootfs" \
		"deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
		"deb $SECURITY_MIRROR $SUITE-security main" >"$logf" 2>&1; then
		tail -n 30 "$logf" >&2
		die $EXIT_BUILD "mmdebstrap failed; log: $logf"
	fi
	stage_end
	local f
	# -L: /sbin/init is an absolute symlink (to /lib/systemd/systemd), which must not be
	# followed on the host.
	for f in "boot/vmlinuz-$RELEASE" "boot/initrd.img-$RELEASE" sbin/init lib/systemd/systemd; do
		[ -e "$dir/rootfs/$f" ] || [ -L "$dir/rootfs/$f" ] || die $EXIT_BUILD "the root file system has no /$f; log: $logf"
	done
	echo "$PACKAGES" | tr ' ' '\n' >"$dir/packages"
	{
		echo "release=$RELEASE"
		echo "suite=$SUITE"
		echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "build_seconds=$(elapsed "$t0" "$(now_ms)")"
		echo "size=$(du -sh "$dir/rootfs" | cut -f1)"
	} >"$dir/complete.tmp"
	mv "$dir/complete.tmp" "$dir/complete"
	log "root file system built in $(elapsed "$t0" "$(now_ms)") s ($(du -sh "$dir/rootfs" | cut -f1))"
}

cmd_rootfs() {
	local release="" version="" extra=() print_dir=0 t0
	while [ $# -gt 0 ]; do
		case "$1" in
		--release) [ $# -ge 2 ] || die $EXIT_USAGE "rootfs: --release needs a RELEASE"; release=$2; shift ;;
		--version) [ $# -ge 2 ] || die $EXIT_USAGE "rootfs: --version needs a VERSION"; version=$2; shift ;;
		--with) [ $# -ge 2 ] || die $EXIT_USAGE "rootfs: --with needs a PACKAGE"; extra+=("$2"); shift ;;
		--print-dir) print_dir=1 ;;
		-h | --help) usage; exit 0 ;;
		*) die $EXIT_USAGE "rootfs: unknown argument '$1' (see debian-vm.sh --help)" ;;
		esac
		shift
	done
	[ -n "$release" ] || die $EXIT_USAGE "rootfs: --release RELEASE is required (e.g. $(ci_release_hint))"
	resolve_rootfs "$release" "$version" ${extra[@]+"${extra[@]}"}
	if [ "$print_dir" = 1 ]; then
		[ -f "$ROOTFS_DIR/complete" ] || exit $EXIT_FAIL
		echo "$ROOTFS_DIR"
		exit 0
	fi
	t0=$(now_ms)
	mkdir -p "$CACHE_ROOT"
	exec 9>"$ROOTFS_DIR.lock"
	if ! flock -n 9; then
		log "another debian-vm.sh is building $ROOTFS_DIR; waiting for it"
		flock 9
	fi
	if [ -f "$ROOTFS_DIR/complete" ]; then
		log "reusing cached root file system $ROOTFS_DIR ($(elapsed "$t0" "$(now_ms)") s)"
	else
		[ ! -e "$ROOTFS_DIR" ] || log "removing interrupted build $ROOTFS_DIR (no 'complete' stamp)"
		build_rootfs "$ROOTFS_DIR"
	fi
	echo "$ROOTFS_DIR"
}

ci_release_hint() { "$LAB_DIR/../debian-release.sh" 2>/dev/null || echo 6.1.0-NN-cloud-amd64; }

rootfs_release() { # the release a finished rootfs dir was built for
	[ -f "$1/complete" ] || die $EXIT_MISSING "'$1' is not a finished root file system dir (no 'complete' stamp; run debian-vm.sh rootfs)"
	sed -n 's/^release=//p' "$1/complete"
}

# ---------------------------------------------------------------------------------------
# image
# ---------------------------------------------------------------------------------------

# Put a host file at GUESTPATH in the staging tree STAGE, or the files of a host directory
# below GUESTPATH (merged with what is there: --add DESTDIR:/ installs a `cmake --install`
# tree). The staging tree is a hard-linked copy of the cache: writing into an existing file
# would write into the cache, so an existing file is removed first and the new one is a new
# inode. Paths are resolved inside STAGE and must stay there (an absolute symlink in the
# guest tree must not lead a copy onto the host).
put_file() { # put_file STAGE HOSTFILE GUESTPATH
	local stage=$1 host=$2 guest=$3 dst dir
	dir=$(realpath -m "$stage$(dirname "$guest")")
	case "$dir/" in "$stage"/*) ;; *) die $EXIT_BUILD "--add: '$guest' resolves outside the image tree ($dir)" ;; esac
	dst="$dir/$(basename "$guest")"
	mkdir -p "$dir"
	rm -rf "$dst"
	cp -P --preserve=mode,timestamps,links "$host" "$dst" || die $EXIT_BUILD "cannot copy '$host' to '$guest'"
	chown -h 0:0 "$dst"
}

put() { # put STAGE HOSTPATH GUESTPATH
	local stage=$1 host=$2 guest=$3 f
	[ -e "$host" ] || [ -L "$host" ] || die $EXIT_MISSING "--add: '$host' does not exist"
	if [ -d "$host" ] && [ ! -L "$host" ]; then
		while IFS= read -r -d '' f; do
			put_file "$stage" "$f" "${guest%/}/${f#"$host"/}"
		done < <(find "$host" \( -type f -o -type l \) -print0)
	else
		put_file "$stage" "$host" "$guest"
	fi
}

put_text() { # put_text STAGE GUESTPATH TEXT
	local tmp
	tmp=$(mktemp "$(dirname "$1")/text.XXXXXX")
	printf '%s\n' "$3" >"$tmp"
	chmod 644 "$tmp"
	put_file "$1" "$tmp" "$2"
	rm -f "$tmp"
}

cmd_image() {
	local out="" rootfs="" size=2G adds=() enables=() spec stage release u
	while [ $# -gt 0 ]; do
		case "$1" in
		-o) [ $# -ge 2 ] || die $EXIT_USAGE "image: -o needs a FILE"; out=$2; shift ;;
		--rootfs) [ $# -ge 2 ] || die $EXIT_USAGE "image: --rootfs needs a DIR"; rootfs=$2; shift ;;
		--add) [ $# -ge 2 ] || die $EXIT_USAGE "image: --add needs HOSTPATH:/GUESTPATH"; adds+=("$2"); shift ;;
		--enable) [ $# -ge 2 ] || die $EXIT_USAGE "image: --enable needs a UNIT"; enables+=("$2"); shift ;;
		--size) [ $# -ge 2 ] || die $EXIT_USAGE "image: --size needs a SIZE"; size=$2; shift ;;
		-h | --help) usage; exit 0 ;;
		*) die $EXIT_USAGE "image: unknown argument '$1' (see debian-vm.sh --help)" ;;
		esac
		shift
	done
	[ -n "$out" ] || die $EXIT_USAGE "image: -o DISK.img is required"
	[ -n "$rootfs" ] || die $EXIT_USAGE "image: --rootfs DIR is required (debian-vm.sh rootfs prints it)"
	release=$(rootfs_release "$rootfs")
	need_tool mkfs.ext4 systemctl
	local t0
	t0=$(now_ms)
	stage=$(mktemp -d "${TMPDIR:-/tmp}/kpg-debian-vm.XXXXXX")
	# shellcheck disable=SC2064 # expand now: $stage is local
	trap "rm -rf '$stage'" RETURN
	cp -al "$rootfs/rootfs" "$stage/root"
	local r
	r=$(realpath "$stage/root")

	# The harness: the scenario service, the guest library, and a quiet console.
	put "$r" "$GUEST_DIR/kpg-scenario.service" /etc/systemd/system/kpg-scenario.service
	put "$r" "$GUEST_DIR/run-boot" /kpg/run-boot
	put "$r" "$LAB_DIR/guest/lib.sh" /kpg/lib.sh
	mkdir -p "$r/kpg/state"
	ln -sf /bin/busybox "$r/usr/local/bin/usleep" # the guest library's 50 ms polls
	rm -f "$r/etc/systemd/system/serial-getty@ttyS0.service"
	ln -s /dev/null "$r/etc/systemd/system/serial-getty@ttyS0.service"
	put_text "$r" /etc/fstab "/dev/vda / ext4 rw,errors=remount-ro 0 0"
	put_text "$r" /etc/hostname "kpg-debian-vm"
	# A fixed machine ID: no first-boot setup, the same journal directory every boot.
	put_text "$r" /etc/machine-id "6b70672d64656269616e2d766d000001"
	for spec in ${adds[@]+"${adds[@]}"}; do
		case "$spec" in
		*:/*) put "$r" "${spec%%:/*}" "/${spec#*:/}" ;;
		*) die $EXIT_USAGE "--add '$spec': expected HOSTPATH:/GUESTPATH (guest path absolute)" ;;
		esac
	done
	systemctl --root="$r" --quiet enable kpg-scenario.service ||
		die $EXIT_BUILD "systemctl --root enable kpg-scenario.service failed"
	for u in ${enables[@]+"${enables[@]}"}; do
		systemctl --root="$r" --quiet enable "$u" || die $EXIT_BUILD "systemctl --root enable $u failed"
	done

	rm -f "$out.tmp"
	# -d copies the tree with owners, modes, symlinks, device nodes and hard links; the
	# image is sparse, so SIZE is room for the guest, not disk used.
	mkfs.ext4 -q -F -L kpg-root -d "$r" "$out.tmp" "$size" ||
		die $EXIT_BUILD "mkfs.ext4 -d failed for '$out'"
	mv "$out.tmp" "$out"
	log "image $out ($release, $(du -h "$out" | cut -f1) used) in $(elapsed "$t0" "$(now_ms)") s"
}

# ---------------------------------------------------------------------------------------
# boot
# ---------------------------------------------------------------------------------------

cmd_boot() {
	local disk="" rootfs="" append="" tmo=900 logf="" keep=0 release rc=0 t0 cpus
	while [ $# -gt 0 ]; do
		case "$1" in
		--rootfs) [ $# -ge 2 ] || die $EXIT_USAGE "boot: --rootfs needs a DIR"; rootfs=$2; shift ;;
		--append) [ $# -ge 2 ] || die $EXIT_USAGE "boot: --append needs ARGS"; append=$2; shift ;;
		--timeout) [ $# -ge 2 ] || die $EXIT_USAGE "boot: --timeout needs seconds"; tmo=$2; shift ;;
		--log) [ $# -ge 2 ] || die $EXIT_USAGE "boot: --log needs a FILE"; logf=$2; keep=1; shift ;;
		-h | --help) usage; exit 0 ;;
		-*) die $EXIT_USAGE "boot: unknown option '$1' (see debian-vm.sh --help)" ;;
		*) [ -z "$disk" ] || die $EXIT_USAGE "boot: more than one DISK"; disk=$1 ;;
		esac
		shift
	done
	[ -n "$disk" ] || die $EXIT_USAGE "boot: DISK.img is required"
	[ -f "$disk" ] || die $EXIT_MISSING "boot: disk image '$disk' not found"
	[ -n "$rootfs" ] || die $EXIT_USAGE "boot: --rootfs DIR is required (the kernel and initramfs come from it)"
	case "$tmo" in '' | *[!0-9]*) die $EXIT_USAGE "boot: --timeout '$tmo' is not a number of seconds" ;; esac
	release=$(rootfs_release "$rootfs")
	need_tool qemu-system-x86_64 timeout
	[ -n "$logf" ] || logf=$(mktemp "${TMPDIR:-/tmp}/kpg-debian-vm-console.XXXXXX")
	t0=$(now_ms)
	cpus=$(guest_cpus "$rootfs/rootfs/boot/System.map-$release" "$rootfs/rootfs/boot/config-$release")
	log "booting $release from $disk (TCG, $cpus vCPU(s), timeout ${tmo}s, console: $logf)${append:+, append: $append}"
	# quiet + loglevel: kernel lines at console level would split result lines; the whole
	# kernel log is dumped by the harness at the end. systemd.show_status=0: no status
	# lines on the console.
	timeout -k 5 "$tmo" qemu-system-x86_64 -accel tcg -smp "$cpus" -m 1024 -nographic -no-reboot \
		-kernel "$rootfs/rootfs/boot/vmlinuz-$release" -initrd "$rootfs/rootfs/boot/initrd.img-$release" \
		-append "console=ttyS0 root=/dev/vda rw panic=-1 quiet loglevel=2 systemd.show_status=0${append:+ $append}" \
		-drive "file=$disk,format=raw,if=virtio" -nic none \
		</dev/null >"$logf" 2>&1 || rc=$?
	log "[stage] boot: $(elapsed "$t0" "$(now_ms)") s"
	case "$rc" in
	0) ;;
	124 | 137) log "boot timed out after ${tmo}s (QEMU killed)"; rc=$EXIT_BOOT ;;
	*) log "qemu-system-x86_64 exited with $rc"; tail -n 5 "$logf" >&2; rc=$EXIT_BOOT ;;
	esac
	local jrc=0
	"$LAB_DIR/lab.sh" judge "$logf" || jrc=$?
	[ "$rc" != 0 ] || rc=$jrc
	if [ "$rc" != 0 ]; then
		log "FAIL: boot of $disk (exit $rc); console log kept: $logf"
	elif [ "$keep" = 0 ]; then
		rm -f "$logf"
	fi
	exit "$rc"
}

main() {
	[ $# -gt 0 ] || { usage >&2; exit $EXIT_USAGE; }
	local cmd=$1
	shift
	case "$cmd" in
	rootfs) cmd_rootfs "$@" ;;
	image) cmd_image "$@" ;;
	boot) cmd_boot "$@" ;;
	-h | --help | help) usage ;;
	*) usage >&2; die $EXIT_USAGE "unknown command '$cmd'" ;;
	esac
}

main "$@"
