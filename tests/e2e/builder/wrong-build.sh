#!/bin/bash
# e2e: a live patch built for another build of the kernel is refused at load time.
#
# "Another build" is what a distribution rebuild gives: the same source, config, compiler
# and release (so the same vermagic; the kernel itself would load the module), but a new
# vmlinux with another GNU build ID, in which any function may sit elsewhere or be inlined
# differently. The cheapest sound way to get one here: copy the lab's build dir (about
# 600 MB) and relink only vmlinux there with KBUILD_BUILD_VERSION=2 (the lab kernel is #1),
# which changes UTS_VERSION and so the build ID, and nothing else. It is cached next to the
# lab kernel, keyed by it: <cache>/lab/scratch-<kernel>/other-build/ (about 1 min the first
# time). It is never booted.
#
# Then, from the same patch (examples/cmdline-string):
#   right.ko  kpatch-gen build --target-vmlinux <lab>/build/vmlinux (the kernel that boots)
#   other.ko  kpatch-gen build --target-vmlinux <other-build>/build/vmlinux
#             (--name livepatch_other_build)
# Host checks: other.ko's modinfo has the other build's ID, the same release and vermagic.
# Guest (wrong-build.scenario, on the lab kernel): `kpatch-load load other.ko` exits 3
# naming both build IDs, no /sys/module or /sys/kernel/livepatch entry appears, the kernel
# log after the attempt has no livepatch line, the probe still fails; then right.ko loads
# with kpatch-load (exit 0, probe passes) and unloads (probe fails again), which shows the
# refusal was about the build and nothing else.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

KPG_PROG=builder.wrong-build
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_kpatch_gen
need_kpatch_load
need_tool make cp readelf flock
find_lab_kernel
make_work_dir builder-wrong-build

OTHER="$(dirname "$LAB")/scratch-$(basename "$LAB")/other-build"
readonly OTHER
readonly EXAMPLE=cmdline-string

# --- the other build ---------------------------------------------------------------------
prepare_other_build() {
	local logf
	mkdir -p "$(dirname "$OTHER")"
	exec 9>"$OTHER.lock"
	flock 9
	if [ -f "$OTHER/complete" ]; then
		log "other build: cached in $OTHER"
		return 0
	fi
	stage_begin "other build of the lab kernel: copy build/, relink vmlinux with KBUILD_BUILD_VERSION=2 ($OTHER)"
	rm -rf "$OTHER"
	mkdir -p "$OTHER"
	# A real copy, not hard links: make writes object files in place.
	cp -a "$LAB/build" "$OTHER/build"
	logf="$OTHER/build.log"
	: >"$logf"
	# objtool's own build records absolute output paths, so in the copy it is rebuilt (from
	# the same source, by the same compiler). Every kernel object lists the objtool binary
	# as a prerequisite; give the rebuilt tool the lab's timestamp so that the objects are
	# not all recompiled for it.
	make_logged "$logf" "objtool in the copy" -C "$LAB/src" O="$OTHER/build" tools/objtool
	find "$OTHER/build/tools/objtool" -exec touch -h -r "$LAB/build/tools/objtool/objtool" {} +
	echo "--- relink" >>"$logf"
	rm -f "$OTHER/build/vmlinux"
	make_logged "$logf" "relink vmlinux" -C "$LAB/src" O="$OTHER/build" KBUILD_BUILD_VERSION=2 -j"$(nproc)" vmlinux
	# Nothing but the link may have run (init/version.o has the build number, vmlinux.o and
	# the kallsyms passes are the link): a recompiled object would mean the copy is not the
	# lab's build with another build number.
	if sed '1,/^--- relink$/d' "$logf" | grep -E '^  (CC|AS|HOSTCC|LD) ' |
		grep -vE ' (init/version(-timestamp)?\.o|vmlinux(\.o)?|\.tmp_vmlinux\.kallsyms[0-9](\.o)?)$' >"$OTHER/recompiled"; then
		die "$EXIT_FAIL" "relinking the copy rebuilt more than vmlinux: $(head -n 5 "$OTHER/recompiled" | tr '\n' ' ') (log: $logf)"
	fi
	build_id_of "$OTHER/build/vmlinux" >"$OTHER/complete"
	stage_end
}
prepare_other_build

lab_bid=$(build_id_of "$LAB/build/vmlinux")
other_bid=$(build_id_of "$OTHER/build/vmlinux")
lab_rel=$(cat "$LAB/build/include/config/kernel.release")
other_rel=$(cat "$OTHER/build/include/config/kernel.release")
log "lab kernel:   release $lab_rel, build ID $lab_bid, $(strings "$LAB/build/init/version-timestamp.o" | grep -m1 '^#1 ' || true)"
log "other build:  release $other_rel, build ID $other_bid, $(strings "$OTHER/build/init/version-timestamp.o" | grep -m1 '^#2 ' || true)"
if [ -z "$lab_bid" ] || [ -z "$other_bid" ]; then die "$EXIT_FAIL" "a vmlinux has no GNU build ID"; fi
[ "$lab_bid" != "$other_bid" ] || die "$EXIT_FAIL" "the relinked vmlinux has the lab kernel's build ID $lab_bid: not another build"
[ "$lab_rel" = "$other_rel" ] || die "$EXIT_FAIL" "the other build has release $other_rel, the lab kernel $lab_rel: the test wants the same release"

# --- the two modules ---------------------------------------------------------------------
patch="$EXAMPLES/$EXAMPLE/$EXAMPLE.patch"
right=livepatch_cmdline_string
other=livepatch_other_build
rc=0
kg_build "$WORK/right" build "$LAB" "$patch" --name "$right" || rc=$?
[ "$rc" = 0 ] || { show_log "$WORK/right/build.log"; die "$EXIT_FAIL" "building $EXAMPLE for the lab kernel failed (exit $rc)"; }
rc=0
kg_build "$WORK/other" build "$OTHER" "$patch" --name "$other" || rc=$?
[ "$rc" = 0 ] || { show_log "$WORK/other/build.log"; die "$EXIT_FAIL" "building $EXAMPLE for the other build failed (exit $rc)"; }

check_modinfo() { # check_modinfo KO KEY EXPECTED
	local v
	v=$(modinfo_value "$1" "$2")
	[ "$v" = "$3" ] || die "$EXIT_FAIL" "$(basename "$1"): modinfo $2 is '$v', expected '$3'"
}
check_modinfo "$WORK/right/$right.ko" kpg_target_build_id "$lab_bid"
check_modinfo "$WORK/other/$other.ko" kpg_target_build_id "$other_bid"
check_modinfo "$WORK/other/$other.ko" kpg_target_release "$lab_rel"
check_modinfo "$WORK/other/$other.ko" vermagic "$(modinfo_value "$WORK/right/$right.ko" vermagic)"
[ "$(jq -r .target.build_id "$WORK/other/build.json")" = "$other_bid" ] ||
	die "$EXIT_FAIL" "the JSON result of the other build does not name build ID $other_bid"
log "modules: $right.ko for $lab_bid, $other.ko for $other_bid; same release and vermagic"

# --- the guest -----------------------------------------------------------------------------
strip -o "$WORK/kpatch-load" "$KPG_KPATCH_LOAD"
printf '%s\n' "$lab_bid" >"$WORK/lab-build-id"
printf '%s\n' "$other_bid" >"$WORK/other-build-id"
"$LAB_DIR/lab.sh" run "$BUILDER_TESTS/wrong-build.scenario" --timeout 240 --log "$WORK/console.log" \
	--add "$WORK/kpatch-load:/kpg/add/kpatch-load" \
	--add "$WORK/lab-build-id:/kpg/add/lab-build-id" \
	--add "$WORK/other-build-id:/kpg/add/other-build-id" \
	--add "$EXAMPLES/$EXAMPLE/probe:/kpg/add/probe" \
	--add "$WORK/right/$right.ko:/kpg/add/$right.ko" \
	--add "$WORK/other/$other.ko:/kpg/add/$other.ko"
log "PASS: the module for build $other_bid was refused before loading; the one for $lab_bid loaded"
