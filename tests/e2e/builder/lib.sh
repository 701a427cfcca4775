# shellcheck shell=bash
# Host-side helpers for the builder's kernel-level tests (tests/e2e/builder/*.sh).
# Sourced after `set -euo pipefail`; the caller sets KPG_PROG (the name in messages).
#
# Environment (CMake sets both from the build tree):
#   KPG_KPATCH_GEN    the kpatch-gen binary
#   KPG_KPATCH_LOAD   the kpatch-load binary (only the tests that load with it)
#   KPATCH_GEN_CACHE  the builder's (and the lab's) cache root; the default is shared with
#                     every other test, so the prepared tree is built once
# SPDX-License-Identifier: GPL-2.0-only

BUILDER_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BUILDER_TESTS/../../.." && pwd)
LAB_DIR="$REPO/ci/lab"
EXAMPLES="${KPG_EXAMPLES_DIR:-$REPO/examples}"
readonly BUILDER_TESTS REPO LAB_DIR EXAMPLES
# shellcheck source-path=SCRIPTDIR source=../../../ci/lab/common.sh
. "$LAB_DIR/common.sh"
# shellcheck source=../../has.sh
. "$REPO/tests/has.sh"

# The lab kernel dir (src/, build/, modules/); the CTest fixture lab-kernel builds it.
# Sets LAB. Every build of these tests takes its source from $LAB/src.
find_lab_kernel() {
	LAB=$("$LAB_DIR/lab.sh" kernel --print-dir) ||
		die "$EXIT_MISSING" "the lab kernel is not built; run ci/lab/lab.sh kernel (CTest: lab.kernel)"
}

need_kpatch_gen() {
	[ -n "${KPG_KPATCH_GEN:-}" ] || die "$EXIT_USAGE" "KPG_KPATCH_GEN is not set (the path of the kpatch-gen binary)"
	[ -x "$KPG_KPATCH_GEN" ] || die "$EXIT_MISSING" "kpatch-gen binary '$KPG_KPATCH_GEN' not found (build the kpatch-gen target)"
	need_tool jq
}

need_kpatch_load() {
	[ -n "${KPG_KPATCH_LOAD:-}" ] || die "$EXIT_USAGE" "KPG_KPATCH_LOAD is not set (the path of the kpatch-load binary)"
	[ -x "$KPG_KPATCH_LOAD" ] || die "$EXIT_MISSING" "kpatch-load binary '$KPG_KPATCH_LOAD' not found (build the kpatch-load target)"
}

# A work dir that is removed when the script succeeds and kept (its path printed) when it
# fails or KPG_KEEP_WORK=1, so the build logs, JSON results, modules and console log
# (lab.sh run --log "$WORK/console.log") can be looked at. Sets WORK.
make_work_dir() { # make_work_dir NAME
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/kpg-$1.XXXXXX")
	trap 'rc=$?; if [ "$rc" = 0 ] && [ "${KPG_KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; else log "kept for inspection: $WORK"; fi; exit "$rc"' EXIT
}

# kg_build OUTDIR TAG KERNEL_DIR [kpatch-gen build args...]: run `kpatch-gen build --json`
# for the kernel dir KERNEL_DIR (build/vmlinux as the target, its modules/ if it has one
# for module targets; the source is always the lab's pristine $LAB/src). The JSON result
# goes to OUTDIR/TAG.json, stderr (progress and reasons) to OUTDIR/TAG.log. Prints
# nothing; returns kpatch-gen's exit status.
kg_build() {
	local out=$1 tag=$2 kdir=$3 rc=0 mods=()
	shift 3
	mkdir -p "$out"
	if [ -d "$kdir/modules" ]; then mods=(--target-modules "$kdir/modules"); fi
	"$KPG_KPATCH_GEN" build "$@" --kernel-src "$LAB/src" --target-vmlinux "$kdir/build/vmlinux" \
		${mods[@]+"${mods[@]}"} -o "$out" --json >"$out/$tag.json" 2>"$out/$tag.log" || rc=$?
	return "$rc"
}

# The last lines of a failed build's log, indented, for the test output.
show_log() { # show_log FILE
	sed -n '1,200p' "$1" | grep -E 'error|warning|\[[A-Z_]+\]|refus' | head -n 12 | sed 's/^/    | /' >&2 || true
	tail -n 5 "$1" | sed 's/^/    | /' >&2
}

# jq on a build result; dies (naming WHAT) when the file is not JSON.
json_get() { # json_get FILE FILTER
	jq -r "$2" "$1" 2>/dev/null || die "$EXIT_FAIL" "$1 is not the JSON result of kpatch-gen build"
}

# The .modinfo value KEY of a module (NUL-separated key=value strings).
modinfo_value() { # modinfo_value MODULE.ko KEY
	readelf -p .modinfo "$1" 2>/dev/null | sed -n "s/^ *\[ *[0-9a-f]*\] *$2=//p" | head -n 1
}

# GNU build ID of an ELF file (vmlinux), lower-case hex.
build_id_of() { readelf -n "$1" | sed -n 's/^ *Build ID: *\([0-9a-f]*\).*/\1/p' | head -n 1; }

# The lab's success examples, in directory order (the order of `ls examples/`). An example
# with a `kernel` file is for another kernel (btf-ids-netlink: Debian's, the lab has no
# networking), as in CMakeLists.txt and check-examples.sh.
success_examples() {
	local n
	for n in $(kpg_lab_examples "$EXAMPLES"); do
		[ "$(cat "$EXAMPLES/$n/expect" 2>/dev/null)" = success ] && echo "$n"
	done
	return 0
}

# The module name kpatch-gen gives an example by default: livepatch_<name>, '-' -> '_'.
default_module_name() { echo "livepatch_$1" | tr -- '-' '_'; }

# stage_example EXAMPLE_DIR MODULE STAGE: what the group boot (examples-boot.sh) needs of a
# success example: its guest files (probe, setup, scenario), the module, and a stamp naming
# the kpatch-gen binary and patch it came from, so that a module left by an older build is
# never booted as this one's. Written to STAGE.tmp and renamed: no half-staged example.
stage_example() {
	local dir=$1 ko=$2 stage=$3 f
	rm -rf "$stage.tmp" "$stage"
	mkdir -p "$stage.tmp"
	for f in probe setup scenario; do
		if [ -f "$dir/$f" ]; then cp "$dir/$f" "$stage.tmp/"; fi
	done
	cp "$ko" "$stage.tmp/"
	example_stamp "$dir" >"$stage.tmp/stamp"
	mv "$stage.tmp" "$stage"
}

# example_stamp EXAMPLE_DIR: identifies the inputs of an example's module (the kpatch-gen
# binary and the example's files).
example_stamp() {
	local dir=$1 name f
	name=$(basename "$dir")
	{
		stat -c '%s %Y' "$KPG_KPATCH_GEN"
		for f in "$name.patch" probe setup scenario; do
			if [ -f "$dir/$f" ]; then echo "$f" && cat "$dir/$f"; fi
		done
	} | sha256sum | cut -d' ' -f1
}
