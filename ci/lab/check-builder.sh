#!/bin/bash
# Run kpatch-gen over the example corpus against the lab kernel and check every outcome:
# each example's `expect` must be met by `kpatch-gen build` (module, no change, or refusal
# with the named reason), and every module built must pass its example's flow in QEMU (one
# boot for all of them: setup, LOADED probe sequence or the example's scenario, no oops).
# Run `check-builder.sh --help` for details.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly LAB_DIR
readonly REPO="$LAB_DIR/../.."
readonly EXAMPLES="${KPG_EXAMPLES_DIR:-$REPO/examples}"
readonly HEADER="$REPO/templates/include/kpatch-gen.h"
KPG_PROG=check-builder
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$LAB_DIR/common.sh"

usage() {
	cat <<'EOF'
Usage: ci/lab/check-builder.sh --kpatch-gen BIN [--no-boot] [--keep DIR] [NAME...]

For each example under examples/ (or only the NAMEs), on the lab kernel of KPG_LAB_LINE
(6.1 by default; NAME.LINE.patch and report.LINE replace NAME.patch and report there), run
  BIN build examples/NAME/NAME.patch --kernel-src <lab>/src --target-vmlinux <lab>/build/vmlinux
and compare with examples/NAME/expect:
  success        exit 0 and one NAME's .ko written (and, if the example has a `report`
                 file, each of its jq conditions true of the module's JSON report)
  no-change      exit 3
  refuse CODE    exit 1 and "[CODE]" in the output
  not-built      exit 3 and "not built in this kernel" in the output
  compile-error  exit 4 and the compiler's "FILE:LINE:COL: error:" in the output
and, whatever the outcome, no compile warning in the output (the corpus is warning-free).
Examples that use a KPG_* macro the author header does not define yet are skipped with
that reason. Then (unless --no-boot) boot the lab kernel once with every module built and
run each example's guest flow (ci/lab/guest/example.sh). --keep DIR keeps the modules,
build logs and console log in DIR.

Exit codes: 0 all outcomes as expected, 1 some example failed (or the boot did), 2 usage,
3 missing prerequisite.
EOF
}

kg=""
boot=1
keep=""
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kpatch-gen) [ $# -ge 2 ] || die "$EXIT_USAGE" "--kpatch-gen needs a path"; kg=$2; shift ;;
	--no-boot) boot=0 ;;
	--keep) [ $# -ge 2 ] || die "$EXIT_USAGE" "--keep needs a DIR"; keep=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) die "$EXIT_USAGE" "unknown option '$1' (see --help)" ;;
	*) names+=("$1") ;;
	esac
	shift
done
[ -n "$kg" ] || die "$EXIT_USAGE" "--kpatch-gen BIN is required (e.g. build/kpatch-gen/kpatch-gen)"
[ -x "$kg" ] || die "$EXIT_MISSING" "kpatch-gen binary '$kg' not found or not executable (build the kpatch-gen target)"
# The lab kernel line (KPG_LAB_LINE, as lab.sh): an example's NAME.LINE.patch and report.LINE
# replace NAME.patch and report on that line (kpg_example_file).
line=${KPG_LAB_LINE:-6.1}
kdir=$("$LAB_DIR/lab.sh" kernel --print-dir) ||
	die "$EXIT_MISSING" "the lab kernel is not built; run ci/lab/lab.sh kernel"
if [ ${#names[@]} = 0 ]; then
	mapfile -t names < <(kpg_lab_examples "$EXAMPLES")
fi

if [ -n "$keep" ]; then
	mkdir -p "$keep"
	work=$(realpath "$keep")
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/kpg-check-builder.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/guest"

failed=()
skipped=()
built=()
t_all=$(now_ms)
stage_begin "kpatch-gen build for ${#names[@]} examples"
for name in "${names[@]}"; do
	dir="$EXAMPLES/$name"
	patch=$(kpg_example_file "$dir" "$name.patch" "$line")
	if [ ! -f "$patch" ] || [ ! -f "$dir/expect" ]; then
		log "FAIL $name: no $patch or expect"
		failed+=("$name")
		continue
	fi
	expect=$(cat "$dir/expect")
	gaps=$(kpg_header_gaps "$HEADER" "$patch")
	if [ -n "$gaps" ]; then
		log "SKIP $name: $gaps"
		skipped+=("$name")
		continue
	fi
	out="$work/$name"
	rm -rf "$out"
	mkdir -p "$out"
	t0=$(now_ms)
	rc=0
	"$kg" build "$patch" --kernel-src "$kdir/src" --target-vmlinux "$kdir/build/vmlinux" \
		-o "$out" >"$work/$name.log" 2>&1 || rc=$?
	secs=$(elapsed "$t0" "$(now_ms)")
	kos=("$out"/*.ko)
	verdict=""
	# The corpus is warning-free on every line (tests/e2e/builder/example.sh says why).
	if grep -q 'the patched source compiles with a warning' "$work/$name.log"; then
		verdict="the patched source compiles with warnings: $(grep 'the patched source compiles with a warning' "$work/$name.log" | head -n 3 | tr '\n' ' ')"
	fi
	case "$expect" in
	success)
		if [ "$rc" != 0 ]; then
			verdict="expected a module, kpatch-gen exited $rc"
		elif [ ${#kos[@]} != 1 ] || [ ! -f "${kos[0]}" ]; then
			verdict="kpatch-gen exited 0 but did not write exactly one .ko in $out"
		elif ! why=$(kpg_example_report_check "$dir" "${kos[0]%.ko}.json" "$line"); then
			verdict=$why
		fi
		;;
	no-change) [ "$rc" = 3 ] || verdict="expected 'no functional change' (exit 3), kpatch-gen exited $rc" ;;
	"refuse "*)
		code=${expect#refuse }
		if [ "$rc" != 1 ]; then
			verdict="expected a refusal with $code (exit 1), kpatch-gen exited $rc"
		elif ! grep -q "\[$code\]" "$work/$name.log"; then
			verdict="refused, but not with reason [$code]; reasons given: $(grep -o '\[[A-Z_]*\]' "$work/$name.log" | sort -u | tr '\n' ' ')"
		fi
		;;
	not-built)
		if [ "$rc" != 3 ]; then
			verdict="expected 'not built in this kernel' (exit 3), kpatch-gen exited $rc"
		elif ! grep -q 'not built in this kernel' "$work/$name.log"; then
			verdict="exit 3, but no 'not built in this kernel' in the output"
		fi
		;;
	compile-error)
		if [ "$rc" != 4 ]; then
			verdict="expected a compile error (exit 4), kpatch-gen exited $rc"
		elif ! grep -Eq '[^ ]+\.[ch]:[0-9]+:[0-9]+: error: ' "$work/$name.log"; then
			verdict="exit 4, but no compiler error with file and line in the output"
		fi
		;;
	*) verdict="bad expect '$expect'" ;;
	esac
	if [ -n "$verdict" ]; then
		log "FAIL $name ($secs s): $verdict; log: $work/$name.log"
		grep -E 'error|\[[A-Z_]+\]' "$work/$name.log" | head -n 5 | sed 's/^/    /' >&2 || true
		failed+=("$name")
		continue
	fi
	log "ok   $name ($secs s): $expect"
	if [ "$expect" = success ]; then
		mkdir -p "$work/guest/$name"
		cp "$dir"/probe "$work/guest/$name/"
		for f in setup scenario; do
			if [ -f "$dir/$f" ]; then cp "$dir/$f" "$work/guest/$name/"; fi
		done
		cp "${kos[0]}" "$work/guest/$name/"
		built+=("$name")
	fi
done
stage_end

boot_rc=0
if [ "$boot" = 1 ] && [ ${#built[@]} -gt 0 ]; then
	# One scenario running every example's flow in turn, each in a subshell so that one
	# example's variables do not leak into the next.
	{
		for name in "${built[@]}"; do
			ko=$(basename "$work/guest/$name"/*.ko)
			printf '(\n\tKPG_EXAMPLE_DIR=/kpg/examples/%s\n\tKPG_KO=/kpg/examples/%s/%s\n\t. /kpg/example.sh\n)\n' \
				"$name" "$name" "$ko"
		done
	} >"$work/scenario"
	stage_begin "boot with ${#built[@]} modules"
	"$LAB_DIR/lab.sh" run "$work/scenario" --timeout 600 --log "$work/console.log" \
		--add "$work/guest:/kpg/examples" --add "$LAB_DIR/guest/example.sh:/kpg/example.sh" || boot_rc=$?
	stage_end
	if [ "$boot_rc" != 0 ]; then
		failed+=("boot(lab.sh exit $boot_rc)")
		if [ -z "$keep" ]; then
			cp "$work/console.log" "${TMPDIR:-/tmp}/kpg-check-builder-console.log"
			log "console log: ${TMPDIR:-/tmp}/kpg-check-builder-console.log"
		fi
	fi
fi

log "${#names[@]} examples: ${#built[@]} modules built, ${#skipped[@]} skipped, ${#failed[@]} failed in $(elapsed "$t_all" "$(now_ms)") s"
[ ${#skipped[@]} = 0 ] || log "skipped: ${skipped[*]}"
if [ ${#failed[@]} != 0 ]; then
	log "failed: ${failed[*]}"
	exit "$EXIT_FAIL"
fi
exit "$EXIT_OK"
