# shellcheck shell=dash
# Guest helpers for the kpatch-load scenarios (sourced after /kpg/lib.sh).
# SPDX-License-Identifier: GPL-2.0-only

KL=/kpg/add/kpatch-load
KL_OUT=/tmp/kl.out
KL_SHOW=${KL_SHOW:-1}

# kl_expect NAME CODE ARGS...: run `kpatch-load ARGS`, PASS if it exits CODE. The output is
# kept in $KL_OUT for kl_said, and shown on the console (prefixed "kpg: kl| ") unless
# KL_SHOW=0 (the stress test), where it is shown only on failure.
kl_expect() {
	local name="$1" want="$2" rc=0
	shift 2
	"$KL" "$@" >"$KL_OUT" 2>&1 || rc=$?
	if [ "$KL_SHOW" = 1 ] || [ "$rc" != "$want" ]; then
		sed 's/^/kpg: kl| /' "$KL_OUT"
	fi
	if [ "$rc" = "$want" ]; then
		kpg_pass "$name"
		return 0
	fi
	kpg_fail "$name" "(kpatch-load $*: exit $rc, expected $want) $(grep -m1 'error:' "$KL_OUT")"
	return 1
}

# kl_said PATTERN: the last kpatch-load output contains PATTERN (fixed string).
kl_said() {
	grep -qF -- "$1" "$KL_OUT" || {
		echo "not in the kpatch-load output: $1" >&2
		return 1
	}
}

# Tasks whose patch_state is not -1: some transition is still running.
kl_tasks_in_transition() { cat /proc/[0-9]*/task/[0-9]*/patch_state 2>/dev/null | grep -qvx -- -1; }
