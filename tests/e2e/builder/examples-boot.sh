#!/bin/bash
# e2e builder.examples-boot: every success example of examples/ that builder.example.<name>
# built and staged (KPG_EXAMPLES_STAGE/<name>/: module, probe, setup, scenario, stamp) runs
# in ONE boot of the lab kernel, each example's flow in its own subshell, one after the
# other, as ci/lab/check-builder.sh does: setup, probe fails / load / probe passes / disable
# / rmmod / probe fails, or the example's own scenario. One boot instead of one per example
# (~16 boots of ~10 s on TCG; issue 13, the suite's time).
#
# Each example's guest results are told apart by KPG-EXAMPLE markers; the verdict names
# every example that failed, and the lab's verdict fails the whole boot on any oops, BUG or
# WARNING in the kernel log. An example that is not staged, or staged by another kpatch-gen
# binary or from other example files (its stamp differs), fails here too: run its
# builder.example.<name> test first (CTest orders them before this test).
#
#   KPG_EXAMPLES_STAGE=build/e2e-examples KPG_KPATCH_GEN=build/kpatch-gen/kpatch-gen \
#     tests/e2e/builder/examples-boot.sh
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

KPG_PROG=builder.examples-boot
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${KPG_EXAMPLES_STAGE:?set KPG_EXAMPLES_STAGE to the directory builder.example.<name> stages modules in}"
need_kpatch_gen
find_lab_kernel
make_work_dir examples-boot

names=()
missing=()
for name in $(success_examples); do
	d="$EXAMPLES/$name/"
	staged="$KPG_EXAMPLES_STAGE/$name"
	if [ ! -f "$staged/stamp" ]; then
		missing+=("$name (not staged: builder.example.$name did not build it)")
	elif [ "$(cat "$staged/stamp")" != "$(example_stamp "$d")" ]; then
		missing+=("$name (staged by another kpatch-gen binary or from other example files: rerun builder.example.$name)")
	else
		names+=("$name")
	fi
done
[ ${#names[@]} -gt 0 ] || die "$EXIT_FAIL" "no example is staged in $KPG_EXAMPLES_STAGE: ${missing[*]:-no success examples}"

mkdir -p "$WORK/guest"
{
	for name in "${names[@]}"; do
		cp -r "$KPG_EXAMPLES_STAGE/$name" "$WORK/guest/$name"
		ko=$(basename "$WORK/guest/$name"/*.ko)
		printf 'echo "KPG-EXAMPLE %s"\n(\n\tKPG_EXAMPLE_DIR=/kpg/examples/%s\n\tKPG_KO=/kpg/examples/%s/%s\n\t. /kpg/example.sh\n)\n' \
			"$name" "$name" "$name" "$ko"
	done
	echo 'echo "KPG-EXAMPLE (end)"'
} >"$WORK/scenario"

log "one boot for ${#names[@]} examples: ${names[*]}"
t0=$(now_ms)
rc=0
"$LAB_DIR/lab.sh" run "$WORK/scenario" --timeout 900 --log "$WORK/console.log" \
	--add "$WORK/guest:/kpg/examples" --add "$LAB_DIR/guest/example.sh:/kpg/example.sh" || rc=$?
log "boot done in $(elapsed "$t0" "$(now_ms)") s (lab.sh exit $rc)"

# Per example: its KPG-RESULT lines are those between its marker and the next one.
tr -d '\r' <"$WORK/console.log" | awk '
	/^KPG-EXAMPLE / { cur = substr($0, 13); next }
	/^KPG-RESULT / && cur != "" { print cur "\t" $0 }' >"$WORK/results"
failed=()
for name in "${names[@]}"; do
	pass=$(awk -F'\t' -v n="$name" '$1 == n && $2 ~ /^KPG-RESULT PASS / { c++ } END { print c + 0 }' "$WORK/results")
	fail=$(awk -F'\t' -v n="$name" '$1 == n && $2 ~ /^KPG-RESULT FAIL / { c++ } END { print c + 0 }' "$WORK/results")
	if [ "$fail" != 0 ] || [ "$pass" = 0 ]; then
		log "FAIL $name: $pass checks passed, $fail failed"
		awk -F'\t' -v n="$name" '$1 == n && $2 ~ /^KPG-RESULT FAIL / { print "    " $2 }' "$WORK/results" >&2
		failed+=("$name")
	else
		log "ok   $name: $pass checks passed"
	fi
done
for m in ${missing[@]+"${missing[@]}"}; do log "FAIL $m"; done
if [ "$rc" != 0 ] || [ ${#failed[@]} != 0 ] || [ ${#missing[@]} != 0 ]; then
	die "$EXIT_FAIL" "examples failed: ${failed[*]:-none}; not staged: ${#missing[@]}; lab verdict: exit $rc (console log: $WORK/console.log)"
fi
log "PASS: ${#names[@]} examples loaded, probed and unloaded in one boot, clean kernel log"
