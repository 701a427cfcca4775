#!/bin/sh
# e2e: the lab's verdict must be able to fail. A harness that reports PASS for a failing
# check, a scenario that reported nothing, a kernel WARNING, or a hung guest would make
# every kernel-level test meaningless. Part 1 feeds synthetic console logs to
# `lab.sh judge`; part 2 boots the lab kernel with scenarios that must fail (and one that
# must pass) and checks lab.sh's exit code for each; part 3 gives check-examples.sh
# --compile a corpus of broken examples.
# SPDX-License-Identifier: GPL-2.0-only
set -eu

here=$(cd "$(dirname "$0")" && pwd)
lab="$here/../../ci/lab/lab.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kpg-harness.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect_exit NAME CODE CMD...: run CMD, compare its exit status with CODE.
expect_exit() {
	name=$1 want=$2
	shift 2
	rc=0
	"$@" >"$tmp/out" 2>&1 || rc=$?
	if [ "$rc" = "$want" ]; then
		echo "ok: $name (exit $rc)"
	else
		echo "FAILED: $name: expected exit $want, got $rc; output:"
		sed 's/^/    /' "$tmp/out"
		failures=$((failures + 1))
	fi
}

# --- Part 1: the verdict on synthetic console logs --------------------------------------
good() {
	printf '%s\r\n' "[    0.100000] Linux version 6.1.192" "KPG-BOOTED 6.1.192" \
		"KPG-RESULT PASS probe fails before load" "KPG-RESULT PASS BUG: a check may be named anything"
}
tail_ok() { printf '%s\r\n' "KPG-SCENARIO-EXIT 0" "KPG-DMESG [    1.000000] livepatch: enabling patch 'x'" "KPG-DONE"; }

{ good; tail_ok; } >"$tmp/clean.log"
expect_exit "judge: clean log passes" 0 "$lab" judge "$tmp/clean.log"

{ good; echo "KPG-RESULT FAIL probe passes while patched (exit 1)"; tail_ok; } >"$tmp/fail.log"
expect_exit "judge: a FAIL line fails" 1 "$lab" judge "$tmp/fail.log"

{ good; tail_ok; echo "KPG-DMESG [    2.500000] WARNING: CPU: 1 PID: 42 at kernel/livepatch/shadow.c:165 __klp_shadow_get_or_alloc+0x1/0x2"; } >"$tmp/warn.log"
expect_exit "judge: a kernel WARNING in the dmesg dump fails" 1 "$lab" judge "$tmp/warn.log"

{ good; echo "[    3.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008"; tail_ok; } >"$tmp/oops.log"
expect_exit "judge: an oops on the live console fails" 1 "$lab" judge "$tmp/oops.log"

{ good; printf '%s\r\n' "KPG-SCENARIO-EXIT 0" "[    4.000000] Kernel panic - not syncing: Attempted to kill init!"; } >"$tmp/panic.log"
expect_exit "judge: no KPG-DONE (panic) is a boot failure" 5 "$lab" judge "$tmp/panic.log"

printf '%s\r\n' "KPG-BOOTED 6.1.192" "KPG-SCENARIO-EXIT 0" "KPG-DONE" >"$tmp/empty.log"
expect_exit "judge: a run without any check fails" 1 "$lab" judge "$tmp/empty.log"

{ good; printf '%s\r\n' "KPG-SCENARIO-EXIT 2" "KPG-DONE"; } >"$tmp/exit.log"
expect_exit "judge: a non-zero scenario exit fails" 1 "$lab" judge "$tmp/exit.log"

# --- Part 2: real boots -------------------------------------------------------------------
"$lab" kernel --print-dir >/dev/null || {
	echo "lab-harness: the lab kernel is not built; run ci/lab/lab.sh kernel" >&2
	exit 1
}
# A dynamically linked C++ program built on the host must run in the guest: --add copies
# the libraries ldd lists (libstdc++, libc, the loader) to the same paths.
cat >"$tmp/hello.cc" <<'CXX'
#include <iostream>
#include <string>
int main(int argc, char **argv) {
	std::string s = argc > 1 ? argv[1] : "none";
	std::cout << "kpg-hello " << s << std::endl;
	return 0;
}
CXX
g++ -O1 -o "$tmp/hello" "$tmp/hello.cc"
if ! ldd "$tmp/hello" | grep -q 'libstdc++'; then
	echo "lab-harness: expected $tmp/hello to link libstdc++ dynamically" >&2
	exit 1
fi
cat >"$tmp/pass.scenario" <<'SCEN'
. /kpg/lib.sh
kpg_check "the guest runs our kernel" sh -c '[ -d /sys/kernel/livepatch ]'
kpg_check_fails "a command that fails is seen as failing" false
kpg_probe_fails "no patch is loaded" 'ls /sys/kernel/livepatch/* 2>/dev/null | grep -q .'
kpg_probe "a dynamically linked C++ program runs" '[ "$(/kpg/bin/hello world)" = "kpg-hello world" ]'
SCEN
expect_exit "boot: passing scenario (with a C++ program)" 0 "$lab" run "$tmp/pass.scenario" --timeout 60 \
	--add "$tmp/hello:/kpg/bin/hello"

cat >"$tmp/fail.scenario" <<'SCEN'
. /kpg/lib.sh
kpg_check "passes" true
kpg_probe "this probe must fail" 'grep -q "not in the cmdline" /proc/cmdline'
SCEN
expect_exit "boot: failing check" 1 "$lab" run "$tmp/fail.scenario" --timeout 60

printf '. /kpg/lib.sh\nkpg_log "no checks here"\n' >"$tmp/nocheck.scenario"
expect_exit "boot: scenario without checks" 1 "$lab" run "$tmp/nocheck.scenario" --timeout 60

# A guest that never finishes: the boot timeout must kill QEMU and fail with exit 5.
printf '. /kpg/lib.sh\nkpg_check "started" true\nwhile :; do sleep 1; done\n' >"$tmp/hang.scenario"
expect_exit "boot: hung guest times out" 5 "$lab" run "$tmp/hang.scenario" --timeout 8

# --- Part 3: check-examples.sh must reject broken examples --------------------------------
# A corpus in a temp dir: one good example (a copy of cmdline-string) and four broken ones.
# With --compile, which CTest's lab.examples leaves to the builder tests (a compile warning
# fails builder.example.<name>), but which must still catch what it is for.
ex="$tmp/examples"
mkdir -p "$ex/good" "$ex/bad-context" "$ex/bad-compile" "$ex/bad-warning" "$ex/no-probe"
good_patch="$here/../../examples/cmdline-string/cmdline-string.patch"
cp "$good_patch" "$ex/good/good.patch"
# Context that is not in the source: must not apply.
sed 's/seq_puts(m, saved_command_line);/seq_puts(m, saved_cmdline_typo);/' "$good_patch" >"$ex/bad-context/bad-context.patch"
# A syntax error: must not compile.
sed 's/ kpg_example=cmdline-string");/ x" undefined_symbol_here);/' "$good_patch" >"$ex/bad-compile/bad-compile.patch"
# An unused variable: compiles, with a warning, which must fail the check. (Same number of
# lines, so the hunk header stays valid.)
sed 's/^+\(\t*\)\(seq_puts(m, " kpg_example=cmdline-string");\)$/+\1{ int kpg_unused; \2 }/' "$good_patch" >"$ex/bad-warning/bad-warning.patch"
cp "$good_patch" "$ex/no-probe/no-probe.patch"
for d in good bad-context bad-compile bad-warning no-probe; do
	echo success >"$ex/$d/expect"
	[ "$d" = no-probe ] || cp "$here/../../examples/cmdline-string/probe" "$ex/$d/probe"
	echo "### $d" >>"$ex/README.md"
done
rc=0
KPG_EXAMPLES_DIR="$ex" "$here/../../ci/lab/check-examples.sh" --compile >"$tmp/ce.out" 2>&1 || rc=$?
want="failed: no-probe bad-compile bad-context bad-warning"
got=$(sed -n 's/^check-examples: \(failed: .*\)/\1/p' "$tmp/ce.out" | tr ' ' '\n' | sort | tr '\n' ' ')
# Each must fail for its own reason, not just fail.
if [ "$rc" = 1 ] && [ "$got" = "$(echo "$want" | tr ' ' '\n' | sort | tr '\n' ' ')" ] &&
	grep -q '^check-examples: ok   good:' "$tmp/ce.out" &&
	grep -q '^check-examples: FAIL no-probe: a success example needs a one-line probe' "$tmp/ce.out" &&
	grep -q '^check-examples: FAIL bad-context: hunk context not unique' "$tmp/ce.out" &&
	grep -q '^check-examples: FAIL bad-compile: compiling fs/proc/cmdline.o failed' "$tmp/ce.out" &&
	grep -q '^check-examples: FAIL bad-warning: compiler/objtool warnings' "$tmp/ce.out"; then
	echo "ok: check-examples rejects broken examples and accepts the good one"
else
	echo "FAILED: check-examples on broken examples (exit $rc), expected '$want'; output:"
	sed 's/^/    /' "$tmp/ce.out"
	failures=$((failures + 1))
fi

if [ "$failures" != 0 ]; then
	echo "lab-harness: $failures expectation(s) failed"
	exit 1
fi
echo "lab-harness: all expectations met"
