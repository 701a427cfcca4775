#!/bin/bash
# kpatch-gen kernel lab: build a small Linux 6.1 kernel with livepatch support, pack a
# busybox initramfs around a test scenario, boot it under QEMU and turn the guest's result
# lines into a host verdict. Run `lab.sh --help` for the commands and exit codes.
#
# Why a separate target kernel at all: a live patch is only proven when a real kernel loads
# it, and the tests must run unattended on a fresh Debian 12 machine and in CI (2 cores, no
# KVM assumed). A tinyconfig-based kernel builds in a few minutes and boots in seconds
# under TCG (see ../shared/reference/kernel-lab-notes.md in the project workspace).
#
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly LAB_DIR
KPG_PROG=lab
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$LAB_DIR/common.sh"
readonly FRAGMENT="$LAB_DIR/kernel.config"
readonly VARIANTS_DIR="$LAB_DIR/variants"
readonly LINES_DIR="$LAB_DIR/lines"
readonly GUEST_DIR="$LAB_DIR/guest"
# The kernel line (--line, KPG_LAB_LINE): 6.1 by default, or one with a ci/lab/lines/LINE.config.
LINE=${KPG_LAB_LINE:-6.1}
SOURCE_TARBALL=""
readonly CACHE_ROOT="${KPATCH_GEN_CACHE:-$HOME/.cache/kpatch-gen}/lab"
# Bump when the build recipe below changes in a way that makes old cache dirs wrong
# (e.g. a new make target whose output later steps rely on).
readonly RECIPE_VERSION=1

usage() {
	cat <<'EOF'
Usage: lab.sh COMMAND [OPTIONS]

The kernel lab: a Linux 6.1 kernel (Debian's linux-source-6.1) with livepatch, booted
under QEMU with a busybox initramfs that runs a test scenario.

Commands:
  kernel [--variant NAME] [--print-dir]
      Build the lab kernel, or reuse it from the cache. The cache directory is
      $KPATCH_GEN_CACHE/lab/linux-<version>-<hash12>/ (default ~/.cache/kpatch-gen), keyed by
      the source tarball, ci/lab/kernel.config and the compiler version. It holds
        src/      the extracted source, pristine (never modified after extraction)
        build/    the O= build dir: vmlinux, arch/x86/boot/bzImage, Module.symvers, .config
        modules/  `make modules_install` output (lib/modules/<release>/...)
        build.log the full make output
        complete  stamp written last; a directory without it is an interrupted build and
                  is deleted and rebuilt
      Prints the cache dir as the last stdout line. With --print-dir: print the dir if the
      kernel is built (exit 0), else exit 1 without building.

  Kernel selection (kernel, initramfs, run):
    --line LINE      the kernel line: 6.1 (default) or 6.12. A line other than 6.1 is
                     Debian's linux-source-LINE with ci/lab/lines/LINE.config merged after
                     kernel.config (the options renamed since 6.1), cached in its own dir
                     (linux-<version>-<hash12>/). Also KPG_LAB_LINE.
    --variant NAME   a lab kernel with ci/lab/variants/NAME.config merged on top of
                     kernel.config, cached in its own dir (linux-<version>-NAME-<hash12>/).
                     Variants: sigforce (CONFIG_MODULE_SIG_FORCE, SHA-256, with a test
                     key generated at build time whose certificate is built into the
                     kernel's trusted keyring: keys/ in the cache dir; see
                     ci/lab/README.md).

  initramfs -o FILE [--kernel-dir DIR] [--variant NAME] [--scenario FILE] [--add HOSTPATH:GUESTPATH]...
      Pack a busybox-static initramfs (uncompressed cpio) with the lab kernel's modules,
      the guest library (/kpg/lib.sh), the scenario (/kpg/scenario) and added files.
      Added ELF executables get the shared libraries `ldd` lists, at the same paths, so a
      C++ program built on the host runs in the guest. HOSTPATH may be a directory.

  boot --kernel BZIMAGE --initrd FILE [--timeout S] [--log FILE] [--append ARGS]
      Boot under qemu-system-x86_64 (-m 512, TCG; -smp 2, or 1 for a kernel with
      sched_dynamic_klp_enable in its System.map, 6.4 and later: see guest_cpus in common.sh). KVM is used only when
      KPG_LAB_KVM=1 and a probe boot under KVM succeeds. The boot is killed after S
      seconds (default 120). The serial console goes to FILE (default: stdout).

  run SCENARIO [--timeout S] [--log FILE] [--kernel-dir DIR | --variant NAME] [--add HOSTPATH:GUESTPATH]...
      Build the kernel if needed, pack an initramfs for SCENARIO, boot it, and judge:
      exit 0 only if the guest reported at least one check, every check passed, the
      scenario exited 0, the guest printed KPG-DONE, and the kernel log has no
      oops/BUG/WARNING/Call Trace/panic. On failure the console log is kept and its path
      and the failing lines are printed. --kernel-dir boots another kernel dir laid out
      like the cache dir (build/, modules/, complete), e.g. the examples' patched kernel.

  judge LOG
      Apply the verdict of `run` to a console log kept from an earlier run (exit codes as
      for run). Useful to re-check a log, and to test the verdict itself.

Scenario format: see ci/lab/README.md. In short, SCENARIO is a shell script run in the
guest as `sh /kpg/scenario`; it sources the helpers and reports checks through them:
  . /kpg/lib.sh
  kpg_loaded_probe /kpg/add/livepatch-sample.ko 'grep -q "live patched" /proc/cmdline'

Environment:
  KPATCH_GEN_CACHE   cache root (default ~/.cache/kpatch-gen)
  KPG_LAB_SOURCE     the 6.1 line's source tarball (default /usr/src/linux-source-6.1.tar.xz);
                     other lines: /usr/src/linux-source-LINE.tar.xz
  KPG_LAB_JOBS       make -j value (default: nproc)
  KPG_LAB_KVM=1      try KVM (probed first; falls back to TCG)
  KPG_LAB_SMP=N      the guest's vCPUs (default 2, or 1 as said under boot)
  KPG_LAB_TCG_THREAD=single  all vCPUs on one host thread (default multi: one each); code
                     patched by one vCPU is seen coherently by the others (loader.stress)
  KPG_LAB_UNVERIFIED_KERNEL=1  let `boot` start a bzImage outside its O= build dir,
                     whose objects cannot be checked for -ffunction-sections

Exit codes: 0 ok, 1 check failed, 2 usage, 3 missing prerequisite, 4 kernel build failed,
5 boot failed/timed out/no KPG-DONE, 6 initramfs failed.
EOF
}

jobs_count() { echo "${KPG_LAB_JOBS:-$(nproc)}"; }

# ---------------------------------------------------------------------------------------
# kernel: cache key, configure, build
# ---------------------------------------------------------------------------------------

# The kernel version ("6.1.192") from the tarball's top-level Makefile
# (linux-source-6.1/Makefile), without extracting the 1.3 GB tree: tar stops at the first
# match (--occurrence), well under a second.
source_version() {
	local top mk
	top=$(tar -tJf "$SOURCE_TARBALL" 2>/dev/null | head -n 1) || true
	top=${top%%/*}
	[ -n "$top" ] || return 0
	mk=$(tar -xJOf "$SOURCE_TARBALL" --occurrence=1 "$top/Makefile" 2>/dev/null | head -n 6) || true
	awk -F' = ' '/^VERSION =/ {v=$2} /^PATCHLEVEL =/ {p=$2} /^SUBLEVEL =/ {s=$2}
		END { if (v != "" && p != "") printf "%s.%s.%s", v, p, s }' <<<"$mk"
}

# Which lab kernel the command is about: the default one, or a variant. A variant NAME is
# ci/lab/variants/NAME.config (merged on top of kernel.config) and, optionally,
# ci/lab/variants/NAME.sh, which defines `variant_prepare DIR`: run once before the
# variant's kernel is configured, it may create files in the cache dir DIR and prints
# extra config lines (sigforce generates its test key there and names its certificate in
# CONFIG_SYSTEM_TRUSTED_KEYS, so no key is ever checked in). Options that select a kernel
# (--variant, and later others such as another kernel line) are parsed by
# take_kernel_option for every command that needs a kernel.
VARIANT=""
set_variant() {
	local v=$1 known
	known=$(find "$VARIANTS_DIR" -maxdepth 1 -name '*.config' -printf '%f\n' 2>/dev/null | sed 's/\.config$//' | sort | paste -sd' ')
	case "$v" in
	'' | *[!a-z0-9_-]*) die $EXIT_USAGE "--variant '$v': expected a variant name (known: ${known:-none})" ;;
	esac
	[ -r "$VARIANTS_DIR/$v.config" ] ||
		die $EXIT_USAGE "--variant '$v': no ci/lab/variants/$v.config (known: ${known:-none})"
	VARIANT=$v
}

set_line() {
	local l=$1 known
	known=$(find "$LINES_DIR" -maxdepth 1 -name '*.config' -printf '%f\n' 2>/dev/null | sed 's/\.config$//' | sort -V | paste -sd' ')
	case "$l" in
	6.1) ;;
	'' | *[!0-9.]*) die $EXIT_USAGE "--line '$l': expected a kernel line (known: 6.1 ${known})" ;;
	*) [ -r "$LINES_DIR/$l.config" ] || die $EXIT_USAGE "--line '$l': no ci/lab/lines/$l.config (known: 6.1 ${known})" ;;
	esac
	LINE=$l
}

# The source tarball of the selected line (after the options are parsed).
source_tarball() {
	if [ "$LINE" = 6.1 ]; then
		echo "${KPG_LAB_SOURCE:-/usr/src/linux-source-6.1.tar.xz}"
	else
		echo "/usr/src/linux-source-$LINE.tar.xz"
	fi
}

# take_kernel_option CMD ARGS...: if ARGS starts with a kernel selection option, apply it
# and set TAKEN to the number of words it used; TAKEN=0 when it is not one.
TAKEN=0
take_kernel_option() {
	local cmd=$1
	shift
	TAKEN=0
	case "$1" in
	--variant)
		[ $# -ge 2 ] || die $EXIT_USAGE "$cmd: --variant needs a NAME"
		set_variant "$2"
		TAKEN=2
		;;
	--line)
		[ $# -ge 2 ] || die $EXIT_USAGE "$cmd: --line needs a kernel line (6.1, 6.12)"
		set_line "$2"
		TAKEN=2
		;;
	esac
}

# Everything that changes the built kernel goes into the key: the exact source (Debian
# can ship a new point release or a new -N revision of the same one, so hash the tarball,
# not its name), the config fragment, the compiler and linker, and the recipe version;
# for a variant also its fragment and hook script. (The default kernel's key is exactly
# what it was before variants existed, so existing caches stay valid.)
cache_key() {
	{
		sha256sum <"$SOURCE_TARBALL" | cut -d' ' -f1
		cat "$FRAGMENT"
		gcc --version | head -n 1
		ld --version | head -n 1
		echo "recipe $RECIPE_VERSION"
		if [ "$LINE" != 6.1 ]; then
			echo "line $LINE"
			cat "$LINES_DIR/$LINE.config"
		fi
		if [ -n "$VARIANT" ]; then
			echo "variant $VARIANT"
			cat "$VARIANTS_DIR/$VARIANT.config"
			[ ! -f "$VARIANTS_DIR/$VARIANT.sh" ] || cat "$VARIANTS_DIR/$VARIANT.sh"
		fi
	} | sha256sum | cut -c1-12
}

KERNEL_DIR=""
resolve_kernel_dir() {
	set_line "$LINE" # KPG_LAB_LINE is checked like --line
	SOURCE_TARBALL=$(source_tarball)
	[ -r "$SOURCE_TARBALL" ] ||
		die $EXIT_MISSING "kernel source tarball '$SOURCE_TARBALL' not found (apt-get install linux-source-$LINE$([ "$LINE" != 6.1 ] || echo ', or set KPG_LAB_SOURCE'))"
	[ -r "$FRAGMENT" ] || die $EXIT_MISSING "config fragment '$FRAGMENT' not found"
	need_tool gcc ld tar xz sha256sum
	local ver
	ver=$(source_version)
	[ -n "$ver" ] || die $EXIT_MISSING "cannot read VERSION/PATCHLEVEL/SUBLEVEL from the Makefile in '$SOURCE_TARBALL'"
	KERNEL_DIR="$CACHE_ROOT/linux-$ver${VARIANT:+-$VARIANT}-$(cache_key)"
}

# Fail if any object of the build was compiled with -ffunction-sections/-fdata-sections.
# Why: 6.1's vmlinux.lds only folds .text.<fn> into .text under LD_DEAD_CODE_DATA_ELIMINATION
# or LTO_CLANG; otherwise every .text.<fn> becomes an orphan output section (~54k
# "ld: warning: orphan section" lines), and such a kernel hung or oopsed at boot in our
# tests. The builder compiles with those flags into its own dirs; it must never end up here.
# Kbuild records every object's exact command line in build/<dir>/.<obj>.o.cmd, e.g.
#   cmd_fs/proc/cmdline.o := gcc -Wp,-MMD,... -O2 ... -c -o fs/proc/cmdline.o ...
check_no_function_sections() {
	local build=$1 hits
	[ -f "$build/.config" ] || die $EXIT_BUILD "'$build' is not a kernel build dir (no .config)"
	if grep -q '^CONFIG_LD_DEAD_CODE_DATA_ELIMINATION=y' "$build/.config"; then
		die $EXIT_BUILD "$build/.config has CONFIG_LD_DEAD_CODE_DATA_ELIMINATION=y (objects built with -ffunction-sections); refusing"
	fi
	hits=$(find "$build" -name '.*.o.cmd' -print0 |
		xargs -0 grep -l -e '-ffunction-sections' -e '-fdata-sections' 2>/dev/null | head -n 5) || true
	if [ -n "$hits" ]; then
		die $EXIT_BUILD "objects in '$build' were compiled with -ffunction-sections/-fdata-sections, refusing to use this kernel; e.g.: $(echo "$hits" | tr '\n' ' ')"
	fi
}

# Every line of the fragment must have survived olddefconfig. Kconfig silently drops a
# value whose dependencies are unmet (e.g. CONFIG_DEBUG_INFO_DWARF5=y without
# DEBUG_KERNEL), and we would only notice much later when the builder finds no DWARF.
# A symbol that does not exist in this source at all (renamed across point releases, e.g.
# SPECULATION_MITIGATIONS -> CPU_MITIGATIONS) is only a warning.
verify_config() { # verify_config SRC CONFIG FRAGMENT
	local src=$1 config=$2 fragment=$3 line sym bad=""
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) sym=${line%%=*} ;;
		'# CONFIG_'*' is not set') sym=${line#\# }; sym=${sym%% *} ;;
		*) continue ;;
		esac
		if case "$line" in \#*) grep -q "^$sym=" "$config" ;; *) ! grep -qxF "$line" "$config" ;; esac; then
			if grep -rqs --include='Kconfig*' -E "^(menu)?config ${sym#CONFIG_}\$" "$src"; then
				bad="$bad $line (got: $(grep -E "^$sym=|^# $sym is not set" "$config" || echo unset));"
			else
				log "warning: $sym in $(basename "$fragment") does not exist in this source; ignored"
			fi
		fi
	done <"$fragment"
	[ -z "$bad" ] || die $EXIT_BUILD "$(basename "$fragment") options not honoured by Kconfig (missing dependency?):$bad"
}

build_kernel() {
	local dir=$1 src="$1/src" build="$1/build" logf="$1/build.log" jobs t_all
	t_all=$(now_ms)
	need_tool make bison flex bc perl cpio
	jobs=$(jobs_count)
	mkdir -p "$dir"
	: >"$logf"
	log "building the lab kernel in $dir (log: $logf)"

	stage_begin "extract $(basename "$SOURCE_TARBALL")"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$SOURCE_TARBALL" -C "$src.tmp" --strip-components=1 ||
		die $EXIT_BUILD "extracting '$SOURCE_TARBALL' into '$src.tmp' failed"
	mv "$src.tmp" "$src"
	stage_end

	local fragments=("$FRAGMENT")
	[ "$LINE" = 6.1 ] || fragments+=("$LINES_DIR/$LINE.config")
	if [ -n "$VARIANT" ]; then
		# The variant's fragment plus what its hook adds for this dir (e.g. a key path).
		cp "$VARIANTS_DIR/$VARIANT.config" "$dir/variant.config"
		if [ -f "$VARIANTS_DIR/$VARIANT.sh" ]; then
			stage_begin "variant $VARIANT: prepare"
			# shellcheck source=/dev/null
			(. "$VARIANTS_DIR/$VARIANT.sh" && variant_prepare "$dir") >>"$dir/variant.config" ||
				die $EXIT_BUILD "variant $VARIANT: variant_prepare failed"
			stage_end
		fi
		fragments+=("$dir/variant.config")
	fi
	stage_begin "configure (tinyconfig + kernel.config$([ "$LINE" = 6.1 ] || echo " + lines/$LINE.config")${VARIANT:+ + variant $VARIANT} + olddefconfig)"
	mkdir -p "$build"
	make_logged "$logf" tinyconfig -C "$src" O="$build" tinyconfig
	# merge_config.sh -m: merge only (no make); it warns about overridden values, which
	# is expected here (the fragment overrides tinyconfig on purpose).
	(cd "$build" && "$src/scripts/kconfig/merge_config.sh" -m .config "${fragments[@]}") >>"$logf" 2>&1 ||
		die $EXIT_BUILD "scripts/kconfig/merge_config.sh failed; log: $logf"
	make_logged "$logf" olddefconfig -C "$src" O="$build" olddefconfig
	local f
	for f in "${fragments[@]}"; do
		verify_config "$src" "$build/.config" "$f"
	done
	stage_end

	stage_begin "make -j$jobs bzImage modules"
	make_logged "$logf" "bzImage modules" -C "$src" O="$build" -j"$jobs" bzImage modules
	stage_end

	stage_begin "modules_install"
	rm -rf "$dir/modules"
	make_logged "$logf" modules_install -C "$src" O="$build" INSTALL_MOD_PATH="$dir/modules" modules_install
	stage_end

	check_no_function_sections "$build"
	local release
	release=$(make -s -C "$src" O="$build" kernelrelease 2>>"$logf") ||
		die $EXIT_BUILD "make kernelrelease failed; log: $logf"
	for f in vmlinux arch/x86/boot/bzImage Module.symvers; do
		[ -s "$build/$f" ] || die $EXIT_BUILD "build finished but '$build/$f' is missing"
	done
	[ -d "$dir/modules/lib/modules/$release" ] ||
		die $EXIT_BUILD "modules_install did not create '$dir/modules/lib/modules/$release'"

	# The stamp is written last, atomically: its presence means every step above finished.
	{
		echo "release=$release"
		echo "variant=$VARIANT"
		echo "line=$LINE"
		echo "source=$SOURCE_TARBALL"
		echo "gcc=$(gcc --version | head -n 1)"
		echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "build_seconds=$(elapsed "$t_all" "$(now_ms)")"
	} >"$dir/complete.tmp"
	mv "$dir/complete.tmp" "$dir/complete"
	log "kernel $release built in $(elapsed "$t_all" "$(now_ms)") s"
}

cmd_kernel() {
	local print_dir=0
	while [ $# -gt 0 ]; do
		take_kernel_option kernel "$@"
		[ "$TAKEN" = 0 ] || { shift "$TAKEN"; continue; }
		case "$1" in
		--print-dir) print_dir=1 ;;
		-h | --help) usage; exit 0 ;;
		*) die $EXIT_USAGE "kernel: unknown option '$1' (see lab.sh --help)" ;;
		esac
		shift
	done
	local t0
	t0=$(now_ms)
	resolve_kernel_dir
	if [ "$print_dir" = 1 ]; then
		[ -f "$KERNEL_DIR/complete" ] || exit $EXIT_FAIL
		echo "$KERNEL_DIR"
		exit 0
	fi
	mkdir -p "$CACHE_ROOT"
	# One builder per cache dir: a second `lab.sh kernel` (another terminal, a parallel
	# CTest run) waits here and then reuses the finished build.
	exec 9>"$KERNEL_DIR.lock"
	if ! flock -n 9; then
		log "another lab.sh is building $KERNEL_DIR; waiting for it"
		flock 9
	fi
	if [ -f "$KERNEL_DIR/complete" ]; then
		check_no_function_sections "$KERNEL_DIR/build"
		log "reusing cached kernel $(sed -n 's/^release=//p' "$KERNEL_DIR/complete") ($(elapsed "$t0" "$(now_ms)") s)"
	else
		if [ -e "$KERNEL_DIR" ]; then
			# Why not build in a temp dir and rename: the O= dir embeds the absolute source
			# path (build/Makefile includes <dir>/src/Makefile; DWARF DW_AT_comp_dir and file
			# names point into src/), so a renamed tree breaks `make M=` and the builder's
			# DWARF lookups. The stamp gives the same guarantee: no stamp, no reuse.
			log "removing interrupted build $KERNEL_DIR (no 'complete' stamp)"
			rm -rf "$KERNEL_DIR"
		fi
		build_kernel "$KERNEL_DIR"
	fi
	echo "$KERNEL_DIR"
}

# The cached kernel dir, building it first if needed (used by initramfs and run).
ensure_kernel() {
	resolve_kernel_dir
	if [ ! -f "$KERNEL_DIR/complete" ]; then
		"$0" kernel --line "$LINE" ${VARIANT:+--variant "$VARIANT"} >/dev/null
	fi
	[ -f "$KERNEL_DIR/complete" ] || die $EXIT_BUILD "lab kernel not available in $KERNEL_DIR"
}

# ---------------------------------------------------------------------------------------
# initramfs
# ---------------------------------------------------------------------------------------

# Copy one host file into the staging root; for dynamically linked ELF executables and
# shared objects also copy what `ldd` resolves, at the same absolute paths, e.g.
#   /lib/x86_64-linux-gnu/libstdc++.so.6, /lib64/ld-linux-x86-64.so.2
# so a C++ tool built on the host runs unchanged in the guest. Kernel modules (.ko) are
# ELF relocatables: ldd rejects them, which is the signal to copy them alone.
stage_file() { # stage_file ROOT HOSTPATH GUESTPATH
	local root=$1 host=$2 guest=$3 lib
	mkdir -p "$root$(dirname "$guest")"
	cp -L "$host" "$root$guest" || die $EXIT_INITRAMFS "cannot copy '$host' to '$guest'"
	if [ "$(head -c 4 "$host" | od -An -c | tr -d ' ')" = '177ELF' ] && ldd "$host" >/dev/null 2>&1; then
		for lib in $(ldd "$host" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }'); do
			[ -e "$root$lib" ] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib" || die $EXIT_INITRAMFS "cannot copy shared library '$lib' needed by '$host'"
		done
	fi
}

stage_add() { # stage_add ROOT HOSTPATH:GUESTPATH
	local root=$1 spec=$2 host guest f rel
	case "$spec" in
	*:/*) host=${spec%%:/*}; guest=/${spec#*:/} ;;
	*) die $EXIT_USAGE "--add '$spec': expected HOSTPATH:/GUESTPATH (guest path absolute)" ;;
	esac
	[ -e "$host" ] || die $EXIT_MISSING "--add: '$host' does not exist"
	if [ -d "$host" ]; then
		while IFS= read -r -d '' f; do
			rel=${f#"$host"}
			stage_file "$root" "$f" "$guest$rel"
		done < <(find "$host" -type f -print0)
	else
		stage_file "$root" "$host" "$guest"
	fi
}

# Build the initramfs. Arguments: OUT KERNEL_DIR SCENARIO ADD...
make_initramfs() {
	local out=$1 kdir=$2 scenario=$3
	shift 3
	local root release mods bb
	need_tool cpio find
	bb=$(command -v busybox) || die $EXIT_MISSING "busybox not found (apt-get install busybox-static)"
	# A dynamically linked busybox would need its libraries in the guest; Debian's
	# busybox-static is what we want (/bin/busybox).
	if ldd "$bb" >/dev/null 2>&1; then
		[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 && bb=/bin/busybox
	fi
	release=$(sed -n 's/^release=//p' "$kdir/complete")
	mods="$kdir/modules/lib/modules/$release"
	[ -d "$mods" ] || die $EXIT_INITRAMFS "modules dir '$mods' missing; rebuild with lab.sh kernel"

	root=$(mktemp -d "${TMPDIR:-/tmp}/kpg-initramfs.XXXXXX")
	# shellcheck disable=SC2064 # expand now: $root is local
	trap "rm -rf '$root'" RETURN
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,kpg,lib/modules,etc}
	cp "$bb" "$root/bin/busybox"
	# Applet links are created at build time (not by `busybox --install -s` in /init) so
	# that /init itself can use #!/bin/sh; the guest runs --install -s again as a no-op
	# safety net for applets added by a different busybox build.
	local applet
	for applet in $("$bb" --list); do
		[ "$applet" = busybox ] || ln -sf /bin/busybox "$root/bin/$applet"
	done
	# Modules: stripped of debug info (binfmt_misc.ko is ~10x smaller), which the guest
	# never needs; the unstripped ones stay in the cache for the builder. Signed modules
	# (the sigforce variant signs its own at modules_install) are copied as they are:
	# stripping changes the bytes the appended signature covers, and the kernel would
	# refuse them.
	mkdir -p "$root/lib/modules/$release"
	cp -a "$mods/." "$root/lib/modules/$release/"
	local ko
	while IFS= read -r -d '' ko; do
		tail -c 28 "$ko" | grep -qa '^~Module signature appended~$' && continue
		strip --strip-debug "$ko" || die $EXIT_INITRAMFS "strip of guest module '$ko' failed"
	done < <(find "$root/lib/modules/$release" -name '*.ko' -print0)
	rm -f "$root/lib/modules/$release/build" "$root/lib/modules/$release/source"

	cp "$GUEST_DIR/init" "$root/init"
	cp "$GUEST_DIR/lib.sh" "$root/kpg/lib.sh"
	chmod 755 "$root/init"
	if [ -n "$scenario" ]; then
		[ -r "$scenario" ] || die $EXIT_MISSING "scenario '$scenario' not found"
		cp "$scenario" "$root/kpg/scenario"
	fi
	local spec
	for spec in "$@"; do
		stage_add "$root" "$spec"
	done
	(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) >"$out.tmp" ||
		die $EXIT_INITRAMFS "cpio failed writing '$out.tmp'"
	mv "$out.tmp" "$out"
}

cmd_initramfs() {
	local out="" scenario="" kdir="" adds=()
	while [ $# -gt 0 ]; do
		take_kernel_option initramfs "$@"
		[ "$TAKEN" = 0 ] || { shift "$TAKEN"; continue; }
		case "$1" in
		-o) [ $# -ge 2 ] || die $EXIT_USAGE "initramfs: -o needs a FILE"; out=$2; shift ;;
		--scenario) [ $# -ge 2 ] || die $EXIT_USAGE "initramfs: --scenario needs a FILE"; scenario=$2; shift ;;
		--add) [ $# -ge 2 ] || die $EXIT_USAGE "initramfs: --add needs HOSTPATH:GUESTPATH"; adds+=("$2"); shift ;;
		--kernel-dir) [ $# -ge 2 ] || die $EXIT_USAGE "initramfs: --kernel-dir needs a DIR"; kdir=$2; shift ;;
		-h | --help) usage; exit 0 ;;
		*) die $EXIT_USAGE "initramfs: unknown argument '$1' (see lab.sh --help)" ;;
		esac
		shift
	done
	[ -n "$out" ] || die $EXIT_USAGE "initramfs: -o FILE is required"
	[ -z "$kdir" ] || [ -z "$VARIANT" ] || die $EXIT_USAGE "initramfs: --kernel-dir and --variant exclude each other"
	if [ -z "$kdir" ]; then
		ensure_kernel
		kdir=$KERNEL_DIR
	fi
	[ -f "$kdir/complete" ] || die $EXIT_MISSING "'$kdir' is not a finished lab kernel dir (no 'complete' stamp)"
	local t0
	t0=$(now_ms)
	make_initramfs "$out" "$kdir" "$scenario" ${adds[@]+"${adds[@]}"}
	log "initramfs $out ($(du -h "$out" | cut -f1)) in $(elapsed "$t0" "$(now_ms)") s"
}

# ---------------------------------------------------------------------------------------
# boot
# ---------------------------------------------------------------------------------------

# The O= build dir a bzImage came from, so the -ffunction-sections check can read the
# objects' command lines: <build>/arch/x86/boot/bzImage -> <build>.
kernel_build_dir_of() {
	local img dir
	img=$(realpath "$1")
	case "$img" in
	*/arch/x86/boot/bzImage) dir=${img%/arch/x86/boot/bzImage} ;;
	*) return 1 ;;
	esac
	[ -f "$dir/.config" ] && echo "$dir"
}

# KVM is an opt-in speed-up, never assumed: /dev/kvm exists on these machines but a KVM
# boot hung in the firmware. The probe boots the real kernel with an initramfs whose
# /init only prints a marker; if that does not come back within 30 s we stay on TCG.
KVM_OK=""
probe_kvm() {
	local kernel=$1 tmp rc=0
	[ -n "$KVM_OK" ] && { [ "$KVM_OK" = yes ]; return; }
	KVM_OK=no
	if [ ! -w /dev/kvm ]; then
		log "KPG_LAB_KVM=1 but /dev/kvm is not writable; using TCG"
		return 1
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/kpg-kvmprobe.XXXXXX")
	mkdir -p "$tmp/root/bin"
	cp "$(command -v busybox)" "$tmp/root/bin/busybox"
	printf '#!/bin/busybox sh\n/bin/busybox echo KPG-KVM-PROBE-OK\n/bin/busybox poweroff -f\n' >"$tmp/root/init"
	chmod 755 "$tmp/root/init"
	(cd "$tmp/root" && find . | cpio -o -H newc --quiet) >"$tmp/probe.cpio"
	timeout -k 5 30 qemu-system-x86_64 -accel kvm -smp 2 -m 512 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$tmp/probe.cpio" -append "console=ttyS0 panic=-1 quiet" \
		</dev/null >"$tmp/console" 2>&1 || rc=$?
	if [ "$rc" = 0 ] && grep -q KPG-KVM-PROBE-OK "$tmp/console"; then
		KVM_OK=yes
	else
		log "KVM probe boot failed (exit $rc); using TCG"
	fi
	rm -rf "$tmp"
	[ "$KVM_OK" = yes ]
}

# vcpu_report MONITOR_SOCKET SYSTEM_MAP: each vCPU's RIP from the QEMU monitor's
# `info registers -a`, with the nearest System.map symbol when the map is a real one.
vcpu_report() {
	python3 - "$1" "$2" <<'PY'
import bisect, re, socket, sys, time
sock_path, map_path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sock_path)
s.sendall(b"info registers -a\n")
data, end = b"", time.time() + 3
while time.time() < end:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    data += chunk
syms = []
try:
    for line in open(map_path):
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16), parts[2]))
except OSError:
    pass
syms.sort()
addrs = [a for a, _ in syms]
text = data.decode("latin-1")
for cpu, rip in re.findall(r"CPU#(\d+).*?RIP=([0-9a-f]+)", text, re.S):
    ip = int(rip, 16)
    i = bisect.bisect_right(addrs, ip) - 1
    where = f"{syms[i][1]}+0x{ip - syms[i][0]:x}" if i >= 0 and ip - syms[i][0] < 0x100000 else "?"
    print(f"vCPU {cpu}: RIP {rip} ({where})")
PY
}

# Boot and wait. Returns 0 when QEMU exited by itself within the timeout (the guest
# powered off or the kernel panicked: -no-reboot turns the panic=-1 reboot into an exit),
# EXIT_BOOT on timeout or a QEMU error. The verdict on the guest's output is separate.
boot_kernel() { # boot_kernel KERNEL INITRD TIMEOUT LOG APPEND
	local kernel=$1 initrd=$2 tmo=$3 logf=$4 append=$5 accel=tcg build="" rc=0 t0 cpus
	need_tool qemu-system-x86_64 timeout
	[ -r "$kernel" ] || die $EXIT_MISSING "kernel image '$kernel' not found"
	[ -r "$initrd" ] || die $EXIT_MISSING "initrd '$initrd' not found"
	if build=$(kernel_build_dir_of "$kernel"); then
		check_no_function_sections "$build"
	elif [ "${KPG_LAB_UNVERIFIED_KERNEL:-0}" != 1 ]; then
		die $EXIT_USAGE "cannot verify '$kernel' was built without -ffunction-sections: boot a bzImage inside its O= build dir (<build>/arch/x86/boot/bzImage), or set KPG_LAB_UNVERIFIED_KERNEL=1 if you know it was"
	fi
	if [ "${KPG_LAB_KVM:-0}" = 1 ] && probe_kvm "$kernel"; then
		accel=kvm
	fi
	# The System.map and .config of a kernel built here, or the files next to a distribution's
	# vmlinuz (Debian's /boot: vmlinuz-RELEASE, System.map-RELEASE, config-RELEASE).
	local map=${build:+$build/System.map} config=${build:+$build/.config} rel
	case "$(basename "$kernel")" in
	vmlinuz-*)
		rel=$(basename "$kernel" | sed 's/^vmlinuz-//')
		[ -n "$map" ] || map=$(dirname "$kernel")/System.map-$rel
		[ -n "$config" ] || config=$(dirname "$kernel")/config-$rel
		;;
	esac
	cpus=$(guest_cpus "$map" "$config")
	t0=$(now_ms)
	log "booting $(basename "$kernel") with $accel${KPG_LAB_TCG_THREAD:+ (TCG threads: $KPG_LAB_TCG_THREAD)}, $cpus vCPU(s), timeout ${tmo}s, console: $logf"
	# -nographic puts the serial console on stdio (the monitor is on a socket, below); stdin
	# is /dev/null so a stray byte from the terminal can't reach the monitor.
	# kpg.deadline= is the host's epoch second at which the timeout below kills QEMU: a
	# scenario that runs "as many cycles as time allows" (loader.stress) stops before it,
	# reading the host's time from the CMOS RTC (-rtc clock=host), since on a starved host
	# the guest's own clock falls behind.
	# The QEMU monitor goes to a socket instead: 10 s before the timeout a watcher asks it
	# where every vCPU is (vcpu_report), so that a guest that stopped printing (loader.stress
	# on 6.1 went silent after 34 cycles in one CI run in four) says where it hangs.
	local mon qpid wpid
	mon=$(mktemp -u "${TMPDIR:-/tmp}/kpg-qemu-mon.XXXXXX")
	rm -f "$logf.vcpus"
	# KPG_LAB_TCG_THREAD=single: every vCPU on one host thread (round-robin TCG) instead of one
	# thread each. Code one vCPU patches is then seen coherently by the other: under
	# multi-threaded TCG, loader.stress's guest hung about one run in four with one vCPU at the
	# patched function's entry and the other in kprobe_int3_handler (ftrace rewriting the call
	# site with text_poke_bp's int3 while the other vCPU runs it). The guest still has several
	# CPUs (a task running on the other one still blocks a transition), at half the speed.
	local accel_opt=$accel
	if [ "$accel" = tcg ] && [ "${KPG_LAB_TCG_THREAD:-multi}" = single ]; then accel_opt=tcg,thread=single; fi
	timeout -k 5 "$tmo" qemu-system-x86_64 -accel "$accel_opt" -smp "$cpus" -m 512 -nographic -no-reboot \
		-monitor "unix:$mon,server,nowait" \
		-rtc base=utc,clock=host -kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 kpg.deadline=$(($(date +%s) + tmo))${append:+ $append}" \
		</dev/null >"$logf" 2>&1 &
	qpid=$!
	(
		for ((i = 0; i < tmo - 10; i++)); do
			kill -0 "$qpid" 2>/dev/null || exit 0
			sleep 1
		done
		vcpu_report "$mon" "$map" >"$logf.vcpus" 2>&1
	) </dev/null >/dev/null 2>&1 &
	wpid=$!
	wait "$qpid" || rc=$?
	wait "$wpid" 2>/dev/null || true
	rm -f "$mon"
	log "[stage] boot ($accel): $(elapsed "$t0" "$(now_ms)") s"
	case "$rc" in
	0) return 0 ;;
	124 | 137)
		log "boot timed out after ${tmo}s (QEMU killed); console: $logf"
		if [ -s "$logf.vcpus" ]; then
			log "where the vCPUs were 10 s before the kill (QEMU monitor, info registers -a):"
			sed 's/^/    /' "$logf.vcpus" >&2
		fi
		return $EXIT_BOOT
		;;
	*) log "qemu-system-x86_64 exited with $rc; console: $logf"; tail -n 5 "$logf" >&2; return $EXIT_BOOT ;;
	esac
}

cmd_boot() {
	local kernel="" initrd="" tmo=120 logf="" append="" rc=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--kernel) [ $# -ge 2 ] || die $EXIT_USAGE "boot: --kernel needs a BZIMAGE"; kernel=$2; shift ;;
		--initrd) [ $# -ge 2 ] || die $EXIT_USAGE "boot: --initrd needs a FILE"; initrd=$2; shift ;;
		--timeout) [ $# -ge 2 ] || die $EXIT_USAGE "boot: --timeout needs seconds"; tmo=$2; shift ;;
		--log) [ $# -ge 2 ] || die $EXIT_USAGE "boot: --log needs a FILE"; logf=$2; shift ;;
		--append) [ $# -ge 2 ] || die $EXIT_USAGE "boot: --append needs ARGS"; append=$2; shift ;;
		-h | --help) usage; exit 0 ;;
		*) die $EXIT_USAGE "boot: unknown argument '$1' (see lab.sh --help)" ;;
		esac
		shift
	done
	if [ -z "$kernel" ] || [ -z "$initrd" ]; then
		die $EXIT_USAGE "boot: --kernel and --initrd are required"
	fi
	case "$tmo" in '' | *[!0-9]*) die $EXIT_USAGE "boot: --timeout '$tmo' is not a number of seconds" ;; esac
	if [ -z "$logf" ]; then
		boot_kernel "$kernel" "$initrd" "$tmo" /dev/stdout "$append" || rc=$?
	else
		boot_kernel "$kernel" "$initrd" "$tmo" "$logf" "$append" || rc=$?
	fi
	exit "$rc"
}

# ---------------------------------------------------------------------------------------
# run: initramfs + boot + verdict
# ---------------------------------------------------------------------------------------

# Kernel log lines that fail a run. Only lines carrying a printk timestamp are examined
# ("[    2.345678] WARNING: CPU: 1 PID: 57 at ..."), so a scenario that merely prints the
# word BUG, or a check named "no-WARNING", cannot trip it; PRINTK_TIME is on in
# kernel.config. The guest dumps dmesg with a "KPG-DMESG " prefix; that prefix is fine.
# "Invalid padding area for": 6.12's call depth tracking met a call it could not patch in a
# module (a .call_sites entry of a call through a livepatch relocation, docs/design.md 3.7.3);
# a pr_warn_once, no WARNING line.
readonly BAD_KERNEL_RE='(Oops|BUG:|WARNING:|Call Trace|Kernel panic|kernel BUG at|general protection fault|Unable to handle|UBSAN:|refcount_t:|list_(add|del) corruption|stack-protector|soft lockup|hung_task|RCU stall|rcu_sched self-detected|Invalid padding area for)'
readonly STAMP_RE='\[ *[0-9]+\.[0-9]{6}\]'

# judge LOG: print a summary; return 0 if the run passed, EXIT_FAIL/EXIT_BOOT otherwise.
judge() {
	local logf=$1 pass fail bad done_line exit_line problems=0
	# Serial lines end in \r\n; strip \r so the patterns below see plain text.
	pass=$(tr -d '\r' <"$logf" | grep -c '^KPG-RESULT PASS ' || true)
	fail=$(tr -d '\r' <"$logf" | grep -c '^KPG-RESULT FAIL ' || true)
	done_line=$(tr -d '\r' <"$logf" | grep -m1 '^KPG-DONE' || true)
	exit_line=$(tr -d '\r' <"$logf" | sed -n 's/^KPG-SCENARIO-EXIT //p' | head -n 1)
	bad=$(tr -d '\r' <"$logf" | grep -E "$STAMP_RE" | grep -E "$BAD_KERNEL_RE" |
		sed -E "s/^KPG-DMESG //; s/$STAMP_RE *//" | awk '!seen[$0]++' | head -n 20 || true)
	log "guest checks: $pass passed, $fail failed"
	if [ "$fail" != 0 ]; then
		log "failed checks:"
		tr -d '\r' <"$logf" | grep '^KPG-RESULT FAIL ' | sed 's/^/    /' >&2
		problems=1
	fi
	if [ "$pass" = 0 ] && [ "$fail" = 0 ]; then
		log "the guest reported no checks at all (a scenario must call kpg_check or a helper)"
		problems=1
	fi
	if [ -n "$bad" ]; then
		log "kernel log has oops/BUG/WARNING lines:"
		printf '%s\n' "$bad" | awk '{ print "    " $0 }' >&2
		problems=1
	fi
	if [ -n "$exit_line" ] && [ "$exit_line" != 0 ]; then
		log "the scenario exited with status $exit_line"
		problems=1
	fi
	if [ -z "$done_line" ]; then
		log "the guest never printed KPG-DONE (hang, panic or /init failure); last console lines:"
		tr -d '\r' <"$logf" | grep -v '^KPG-DMESG ' | tail -n 15 | sed 's/^/    /' >&2
		return $EXIT_BOOT
	fi
	[ "$problems" = 0 ] || return $EXIT_FAIL
	return 0
}

cmd_run() {
	local scenario="" tmo=180 logf="" adds=() keep=0 rc=0 work t0 kdir=""
	while [ $# -gt 0 ]; do
		take_kernel_option run "$@"
		[ "$TAKEN" = 0 ] || { shift "$TAKEN"; continue; }
		case "$1" in
		--timeout) [ $# -ge 2 ] || die $EXIT_USAGE "run: --timeout needs seconds"; tmo=$2; shift ;;
		--log) [ $# -ge 2 ] || die $EXIT_USAGE "run: --log needs a FILE"; logf=$2; keep=1; shift ;;
		--add) [ $# -ge 2 ] || die $EXIT_USAGE "run: --add needs HOSTPATH:GUESTPATH"; adds+=("$2"); shift ;;
		--kernel-dir) [ $# -ge 2 ] || die $EXIT_USAGE "run: --kernel-dir needs a DIR"; kdir=$2; shift ;;
		-h | --help) usage; exit 0 ;;
		-*) die $EXIT_USAGE "run: unknown option '$1' (see lab.sh --help)" ;;
		*) [ -z "$scenario" ] || die $EXIT_USAGE "run: more than one SCENARIO ('$scenario', '$1')"; scenario=$1 ;;
		esac
		shift
	done
	[ -n "$scenario" ] || die $EXIT_USAGE "run: SCENARIO is required (a guest shell script, see ci/lab/README.md)"
	[ -r "$scenario" ] || die $EXIT_MISSING "scenario '$scenario' not found"
	case "$tmo" in '' | *[!0-9]*) die $EXIT_USAGE "run: --timeout '$tmo' is not a number of seconds" ;; esac
	[ -z "$kdir" ] || [ -z "$VARIANT" ] || die $EXIT_USAGE "run: --kernel-dir and --variant exclude each other"
	t0=$(now_ms)
	if [ -n "$kdir" ]; then
		[ -f "$kdir/complete" ] || die $EXIT_MISSING "run: '$kdir' is not a finished kernel dir (no 'complete' stamp)"
		KERNEL_DIR=$(realpath "$kdir")
	else
		ensure_kernel
	fi
	work=$(mktemp -d "${TMPDIR:-/tmp}/kpg-lab-run.XXXXXX")
	[ -n "$logf" ] || logf="$work/console.log"

	stage_begin "initramfs for $(basename "$scenario")"
	make_initramfs "$work/initramfs.cpio" "$KERNEL_DIR" "$scenario" ${adds[@]+"${adds[@]}"}
	stage_end

	boot_kernel "$KERNEL_DIR/build/arch/x86/boot/bzImage" "$work/initramfs.cpio" "$tmo" "$logf" "" || rc=$?
	if [ "$rc" = 0 ]; then
		judge "$logf" || rc=$?
	else
		judge "$logf" || true
	fi
	rm -f "$work/initramfs.cpio"
	if [ "$rc" = 0 ]; then
		log "PASS $(basename "$scenario") in $(elapsed "$t0" "$(now_ms)") s"
		[ "$keep" = 1 ] || rm -rf "$work"
		exit $EXIT_OK
	else
		log "FAIL $(basename "$scenario") (exit $rc); console log kept: $logf"
		if [ "$keep" = 1 ]; then rm -rf "$work"; fi
	fi
	exit "$rc"
}

cmd_judge() {
	[ $# = 1 ] || die $EXIT_USAGE "judge: expected exactly one console LOG file"
	[ -r "$1" ] || die $EXIT_MISSING "judge: console log '$1' not found"
	local rc=0
	judge "$1" || rc=$?
	if [ "$rc" = 0 ]; then log "PASS $1"; else log "FAIL $1 (exit $rc)"; fi
	exit "$rc"
}

main() {
	[ $# -gt 0 ] || { usage >&2; exit $EXIT_USAGE; }
	local cmd=$1
	shift
	case "$cmd" in
	kernel) cmd_kernel "$@" ;;
	initramfs) cmd_initramfs "$@" ;;
	boot) cmd_boot "$@" ;;
	run) cmd_run "$@" ;;
	judge) cmd_judge "$@" ;;
	-h | --help | help) usage ;;
	*) usage >&2; die $EXIT_USAGE "unknown command '$cmd'" ;;
	esac
}

main "$@"
