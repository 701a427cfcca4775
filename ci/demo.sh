#!/bin/bash
# The main job on the built-in default, from a fresh Debian 12 machine:
#   1. install everything (ci/install-deps.sh),
#   2. build the toolchain (CMake + Ninja),
#   3. prepare the lab kernel (ci/lab/lab.sh kernel: ~6 min the first time, cached after),
#   4. make a live patch for the default example (examples/cmdline-string) with kpatch-gen,
#   5. boot it in QEMU and show the patched behaviour before, during and after the patch.
# Prints the time of each stage. Exit 0 only if the toolchain built, kpatch-gen made the
# module and the guest's checks all passed.
#
#   ci/demo.sh [EXAMPLE]      (default: cmdline-string)
#   KPG_BUILD_DIR=DIR         CMake build dir (default: build/)
# SPDX-License-Identifier: GPL-2.0-only
# The stage functions run through timed(), which shellcheck cannot follow:
# shellcheck disable=SC2317
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
KPG_PROG=demo
# shellcheck source-path=SCRIPTDIR source=lab/common.sh
. "$REPO/ci/lab/common.sh"

case "${1:-}" in -h | --help) sed -n '2,12p' "$0"; exit 0 ;; esac
readonly DEMO_EXAMPLE=${1:-cmdline-string}
[ -d "$REPO/examples/$DEMO_EXAMPLE" ] || die "$EXIT_USAGE" "no example '$DEMO_EXAMPLE' under examples/"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kpg-demo.XXXXXX")
readonly WORK
trap 'rm -rf "$WORK"' EXIT
TIMES=()
timed() { # timed NAME CMD...: run a stage, remember its duration for the summary
	local name=$1 t0 rc=0
	shift
	stage_begin "$name"
	t0=$(now_ms)
	"$@" || rc=$?
	TIMES+=("$(printf '%-28s %7s s%s' "$name" "$(elapsed "$t0" "$(now_ms)")" "$([ "$rc" = 0 ] || echo "  (failed, exit $rc)")")")
	stage_end
	return "$rc"
}

# The CMake build dir; KPG_BUILD_DIR overrides it (e.g. to keep a second build).
readonly BUILD_DIR=${KPG_BUILD_DIR:-$REPO/build}

build_toolchain() {
	local logf="$BUILD_DIR/demo-toolchain.log"
	mkdir -p "$BUILD_DIR"
	if ! cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DKPG_WERROR=ON >"$logf" 2>&1 ||
		! cmake --build "$BUILD_DIR" -j2 >>"$logf" 2>&1; then
		tail -n 30 "$logf" >&2
		log "toolchain build log: $logf"
		return 1
	fi
}

# ---------------------------------------------------------------------------------------
# make_livepatch_module: produce the live patch module for $DEMO_EXAMPLE.
# Sets DEMO_KO (the .ko), DEMO_PROBE (guest command: fails unpatched, passes patched),
# DEMO_SHOW (guest command whose output shows the change) and DEMO_SETUP (the example's
# setup file, if any).
#
# With a built toolchain this is kpatch-gen itself. If the toolchain did not build (the
# C++ code is under active development), the demo falls back to a hand-written live patch,
# and says so: the kernel's own samples/livepatch/livepatch-sample.c, compiled out of tree
# against the lab kernel, which patches the same function as examples/cmdline-string
# (cmdline_proc_show) but prints its own text, so the probe is the sample's.
# ---------------------------------------------------------------------------------------
make_livepatch_module() {
	local kg="$BUILD_DIR/kpatch-gen/kpatch-gen" ex="$REPO/examples/$DEMO_EXAMPLE"
	case "$DEMO_EXAMPLE" in
	cmdline-string) DEMO_SHOW='cat /proc/cmdline' ;;
	meminfo-string) DEMO_SHOW='grep -i vmallocchunk /proc/meminfo' ;;
	version-string) DEMO_SHOW='cat /proc/version' ;;
	syscall-uname) DEMO_SHOW='uname -a' ;;
	*) DEMO_SHOW="$(cat "$ex/probe"); echo \"probe exit status: \$?\"" ;;
	esac
	DEMO_SETUP=""
	if [ -f "$ex/setup" ]; then DEMO_SETUP=$ex/setup; fi
	if [ "$toolchain_ok" = 1 ] && [ -x "$kg" ]; then
		[ "$(cat "$ex/expect")" = success ] ||
			die "$EXIT_USAGE" "examples/$DEMO_EXAMPLE expects '$(cat "$ex/expect")', not a module: pick a success example"
		"$kg" build "$ex/$DEMO_EXAMPLE.patch" --kernel-src "$KDIR/src" \
			--target-vmlinux "$KDIR/build/vmlinux" -o "$WORK/module" >&2 ||
			die "$EXIT_FAIL" "kpatch-gen build examples/$DEMO_EXAMPLE/$DEMO_EXAMPLE.patch failed"
		DEMO_KO=$(find "$WORK/module" -maxdepth 1 -name '*.ko' | head -n 1)
		[ -n "$DEMO_KO" ] || die "$EXIT_FAIL" "kpatch-gen build succeeded but wrote no .ko in $WORK/module"
		DEMO_PROBE=$(cat "$ex/probe")
		log "live patch: $DEMO_KO (kpatch-gen build examples/$DEMO_EXAMPLE/$DEMO_EXAMPLE.patch)"
		return 0
	fi
	if [ "$DEMO_EXAMPLE" != cmdline-string ]; then
		die "$EXIT_FAIL" "the toolchain did not build, and only cmdline-string has a hand-written stand-in"
	fi
	log "warning: no kpatch-gen binary (toolchain build failed): using the hand-written stand-in"
	mkdir -p "$WORK/module"
	cp "$KDIR/src/samples/livepatch/livepatch-sample.c" "$WORK/module/"
	echo 'obj-m := livepatch-sample.o' >"$WORK/module/Makefile"
	make -C "$KDIR/build" M="$WORK/module" modules >"$WORK/module/make.log" 2>&1 || {
		cat "$WORK/module/make.log" >&2
		die "$EXIT_BUILD" "building the hand-written live patch against $KDIR/build failed"
	}
	DEMO_KO=$WORK/module/livepatch-sample.ko
	DEMO_PROBE='grep -q "this has been live patched" /proc/cmdline'
	log "live patch: $DEMO_KO (hand-written stand-in for examples/$DEMO_EXAMPLE)"
}

show_in_qemu() {
	local scenario="$WORK/demo.scenario" rc=0
	local adds=(--add "$DEMO_KO:/kpg/demo/$(basename "$DEMO_KO")")
	{
		printf 'KPG_KO=%q\n' "/kpg/demo/$(basename "$DEMO_KO")"
		printf 'KPG_PROBE=%q\n' "$DEMO_PROBE"
		printf 'KPG_SHOW=%q\n' "$DEMO_SHOW"
		if [ -n "$DEMO_SETUP" ]; then
			echo 'KPG_SETUP=/kpg/demo/setup'
			adds+=(--add "$DEMO_SETUP:/kpg/demo/setup")
		fi
		cat "$REPO/ci/lab/guest/demo.sh"
	} >"$scenario"
	"$REPO/ci/lab/lab.sh" run "$scenario" --timeout 180 --log "$WORK/console.log" "${adds[@]}" || rc=$?
	echo
	tr -d '\r' <"$WORK/console.log" | sed -n 's/^DEMO | \{0,1\}//p'
	echo
	if [ "$rc" != 0 ]; then
		cp "$WORK/console.log" "${TMPDIR:-/tmp}/kpg-demo-console.log"
		log "the demo's checks failed (exit $rc); console log: ${TMPDIR:-/tmp}/kpg-demo-console.log"
	fi
	return "$rc"
}

t_all=$(now_ms)
timed "install dependencies" "$REPO/ci/install-deps.sh"
toolchain_ok=1
# A toolchain that does not build is reported, and the demo goes on with the hand-written
# stand-in (see make_livepatch_module), so the lab part can still be shown.
timed "build toolchain" build_toolchain || {
	toolchain_ok=0
	log "warning: the toolchain did not build (log above)"
}
timed "prepare lab kernel" "$REPO/ci/lab/lab.sh" kernel >"$WORK/kdir"
KDIR=$(tail -n 1 "$WORK/kdir")
readonly KDIR
timed "make live patch" make_livepatch_module
rc=0
timed "QEMU: before/during/after" show_in_qemu || rc=$?

log "stage times:"
printf '    %s\n' "${TIMES[@]}" >&2
log "total: $(elapsed "$t_all" "$(now_ms)") s"
if [ "$toolchain_ok" != 1 ]; then
	# The lab part ran with the stand-in, but the main job (a live patch made by
	# kpatch-gen) did not happen: that is a failure.
	log "demo FAILED: the toolchain did not build (the QEMU part used the hand-written stand-in)"
	exit "$EXIT_FAIL"
fi
if [ "$rc" = 0 ]; then log "demo passed"; else log "demo FAILED"; fi
exit "$rc"
