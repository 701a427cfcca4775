#!/bin/bash
# e2e: one example of examples/ through `kpatch-gen build` and, for a success example, the
# lab kernel. The outcome must be the one its `expect` file names:
#   success      exit 0, result "built", exactly OUT/livepatch_<name>.ko; if the example has
#                a `report` file, each jq condition in it holds for the module's JSON
#                report (how the builder got there: which callers it patched...); then
#                the module runs in the lab kernel: the example's flow (setup, probe fails / load /
#                probe passes / disable / rmmod / probe fails, or the example's own
#                scenario); the lab's verdict also fails the boot on any oops, BUG or
#                WARNING in the kernel log. With KPG_EXAMPLES_STAGE=DIR (as CTest runs it)
#                the module and the example's guest files are staged in DIR/<name>/ and
#                builder.examples-boot runs every staged example in one boot
#                (examples-boot.sh); without it, ci/lab/run-example.sh boots for this one
#   no-change    exit 3, result "no-change", no module written
#   refuse CODE  exit 1, result "refused", CODE among the --json refusals' codes, no module
#   not-built    exit 3, result "not-built", every unit "not-built" with the CONFIG_ symbol
#                named in the message, no module
#   compile-error  exit 4, result "compile-error", the compiler's error with file and line
#                in the JSON result and the output, no module
#
#   KPG_KPATCH_GEN=build/kpatch-gen/kpatch-gen tests/e2e/builder/example.sh cmdline-string
#
# Uses the builder's default cache (${KPATCH_GEN_CACHE:-~/.cache/kpatch-gen}), so every
# example builds on the same prepared tree. On failure the work dir (JSON result, build log,
# module) is kept and the lab keeps the console log of a failing boot.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

KPG_PROG=builder.example
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# = 1 ] || die "$EXIT_USAGE" "usage: example.sh NAME (a directory of examples/)"
name=$1
KPG_PROG="builder.example.$name"
dir="$EXAMPLES/$name"
if [ ! -f "$dir/$name.patch" ] || [ ! -f "$dir/expect" ]; then
	die "$EXIT_MISSING" "no $dir/$name.patch or $dir/expect"
fi
need_kpatch_gen
find_lab_kernel
make_work_dir "builder-example-$name"

expect=$(cat "$dir/expect")
mod=$(default_module_name "$name")
stage=""
if [ -n "${KPG_EXAMPLES_STAGE:-}" ]; then
	# Whatever this run's outcome, an earlier run's module must not be booted as this one's.
	stage="$KPG_EXAMPLES_STAGE/$name"
	rm -rf "$stage"
fi
t0=$(now_ms)
rc=0
kg_build "$WORK/out" build "$LAB" "$dir/$name.patch" || rc=$?
log "kpatch-gen build $name.patch: exit $rc in $(elapsed "$t0" "$(now_ms)") s (stage times: $(jq -c '.timings' "$WORK/out/build.json" 2>/dev/null || echo none))"
result=$(json_get "$WORK/out/build.json" '.result')
kos=$(find "$WORK/out" -name '*.ko' -printf '%f\n' | sort | tr '\n' ' ')

fail() {
	log "FAIL $name (expect: $expect): $*"
	show_log "$WORK/out/build.log"
	exit "$EXIT_FAIL"
}

# The corpus is warning-free: a warning in an example's patched compile (an unused variable,
# objtool's "unreachable instruction") is a broken example. lab.examples used to compile every
# example a second time to check this; the builder's own compile says it now.
warns=$(jq -r '.compile_warnings[]? | "\(.file):\(.line):\(.column): \(.message)"' "$WORK/out/build.json" 2>/dev/null || true)
[ -z "$warns" ] || fail "the patched source compiles with warnings: $warns"

case "$expect" in
success)
	[ "$rc" = 0 ] || fail "expected a module, kpatch-gen exited $rc (result '$result')"
	[ "$result" = built ] || fail "exit 0 but the JSON result is '$result', not 'built'"
	[ "$kos" = "$mod.ko " ] || fail "expected exactly $mod.ko in the output dir, found: ${kos:-nothing}"
	[ "$(json_get "$WORK/out/build.json" '.output.module')" = "$WORK/out/$mod.ko" ] ||
		fail "the JSON result names another module: $(json_get "$WORK/out/build.json" '.output.module')"
	log "ok: built $mod.ko; patches $(jq -c '[.objects[] | {(.name): [.functions[].name]}] | add' "$WORK/out/build.json")"
	if [ -f "$dir/report" ]; then
		why=$(kpg_example_report_check "$dir" "$(json_get "$WORK/out/build.json" '.output.report')") ||
			fail "$why (its notes: $(jq -c '[.reports[]?.notes[]?]' "$WORK/out/$mod.json" 2>/dev/null))"
		log "ok: the build report satisfies $name/report ($(grep -cv '^\(#.*\)\?$' "$dir/report") conditions)"
	fi
	if [ -n "$stage" ]; then
		stage_example "$dir" "$WORK/out/$mod.ko" "$stage"
		log "PASS $name: built as expected; staged in $stage for builder.examples-boot (one boot for every example)"
		exit 0
	fi
	rc=0
	"$LAB_DIR/run-example.sh" --log "$WORK/console.log" "$dir" "$WORK/out/$mod.ko" || rc=$?
	[ "$rc" = 0 ] || fail "the module built, but its run in the lab failed (run-example.sh exit $rc; console log: $WORK/console.log)"
	log "PASS $name: built, loaded, probe before/after/unload as expected, clean kernel log"
	;;
no-change)
	[ "$rc" = 3 ] || fail "expected 'no functional change' (exit 3), kpatch-gen exited $rc (result '$result')"
	[ "$result" = no-change ] || fail "exit 3 but the JSON result is '$result', not 'no-change'"
	[ -z "$kos" ] || fail "no module expected, found: $kos"
	log "PASS $name: no functional change (exit 3), nothing written"
	;;
"refuse "*)
	code=${expect#refuse }
	codes=$(jq -r '[.refusals[]?.code] | unique | join(" ")' "$WORK/out/build.json")
	[ "$rc" = 1 ] || fail "expected a refusal with $code (exit 1), kpatch-gen exited $rc (result '$result')"
	[ "$result" = refused ] || fail "exit 1 but the JSON result is '$result', not 'refused' (an error is not a refusal)"
	case " $codes " in
	*" $code "*) ;;
	*) fail "refused, but not with $code; the refusal codes are: ${codes:-none}" ;;
	esac
	[ -z "$kos" ] || fail "refused, yet a module was written: $kos"
	log "PASS $name: refused with $code ($(jq -r --arg c "$code" '[.refusals[] | select(.code == $c)][0] | "\(.unit): \(.message)"' "$WORK/out/build.json" | cut -c1-160))"
	;;
not-built)
	[ "$rc" = 3 ] || fail "expected 'not built in this kernel' (exit 3), kpatch-gen exited $rc (result '$result')"
	[ "$result" = not-built ] || fail "exit 3 but the JSON result is '$result', not 'not-built'"
	[ -z "$(jq -r '.units[] | select(.result != "not-built") | .source' "$WORK/out/build.json")" ] ||
		fail "units that are not 'not-built': $(jq -c .units "$WORK/out/build.json")"
	grep -Eq 'not built in this kernel \(CONFIG_[A-Z0-9_]+ is not set' "$WORK/out/build.log" ||
		fail "the output does not name the CONFIG_ symbol that leaves the file out"
	[ -z "$kos" ] || fail "no module expected, found: $kos"
	log "PASS $name: not built in this kernel (exit 3): $(grep -m1 -o '[^ ]*: not built in this kernel ([^)]*' "$WORK/out/build.log")"
	;;
compile-error)
	[ "$rc" = 4 ] || fail "expected a compile error (exit 4), kpatch-gen exited $rc (result '$result')"
	[ "$result" = compile-error ] || fail "exit 4 but the JSON result is '$result', not 'compile-error'"
	where=$(jq -r '.compile_error | "\(.file):\(.line)"' "$WORK/out/build.json")
	case "$where" in
	*.[ch]:[0-9]*) ;;
	*) fail "the JSON result's compile_error has no file and line: $(jq -c .compile_error "$WORK/out/build.json")" ;;
	esac
	grep -q "the patched source does not compile: ${where}:[0-9]*: error: " "$WORK/out/build.log" ||
		fail "the output does not show the compiler's error at $where"
	[ -z "$kos" ] || fail "no module expected, found: $kos"
	log "PASS $name: compile error at $where reported (exit 4)"
	;;
*) die "$EXIT_FAIL" "$dir/expect: unknown outcome '$expect'" ;;
esac
