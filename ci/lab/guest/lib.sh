# shellcheck shell=dash
# Guest-side helpers for lab scenarios (busybox ash). A scenario starts with
#   . /kpg/lib.sh
# and reports every check on the serial console as one line the host parses:
#   KPG-RESULT PASS <name>
#   KPG-RESULT FAIL <name> <detail>
# Progress/diagnostic lines start with "kpg: " and are ignored by the verdict.
# Waits poll a condition (sysfs state) with a deadline; none of them is a fixed sleep.
# See ci/lab/README.md for the scenario format.
# SPDX-License-Identifier: GPL-2.0-only

KPG_PASSED=0
KPG_FAILED=0
# Seconds to wait for a livepatch transition or a module refcount. Transitions in this
# guest complete in well under a second; 6.1 only sends fake signals to stragglers after
# ~15 s, so 60 s leaves room for one signalling round before we call it a stall.
KPG_TIMEOUT=${KPG_TIMEOUT:-60}
KPG_OUT=/tmp/kpg-check.out

kpg_log() { echo "kpg: $*"; }

# Write a marker into the kernel log, so the dmesg dump shows what the scenario did
# between kernel messages ("kpg: insmod /kpg/add/livepatch-sample.ko").
kpg_kmsg() { echo "kpg: $*" >/dev/kmsg 2>/dev/null || true; }

kpg_pass() {
	KPG_PASSED=$((KPG_PASSED + 1))
	echo "KPG-RESULT PASS $1"
}

kpg_fail() { # kpg_fail NAME DETAIL...
	local name="$1"
	shift
	KPG_FAILED=$((KPG_FAILED + 1))
	echo "KPG-RESULT FAIL $name $*"
}

# First line of the captured output of the last check, for the FAIL detail.
kpg__detail() { head -n 1 "$KPG_OUT" 2>/dev/null | tr -d '\r'; }
# The whole captured output of a failed check (e.g. a stall report), for the console log.
kpg__show_output() { sed -n '2,60s/^/kpg: | /p' "$KPG_OUT" 2>/dev/null; }

# kpg_check NAME CMD [ARGS...]: PASS if CMD exits 0. Returns CMD's status.
kpg_check() {
	local name="$1" rc=0
	shift
	"$@" >"$KPG_OUT" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		kpg_pass "$name"
	else
		kpg_fail "$name" "(exit $rc: $*) $(kpg__detail)"
		kpg__show_output
	fi
	return "$rc"
}

# kpg_check_fails NAME CMD [ARGS...]: PASS if CMD exits non-zero. Returns 0 on PASS.
kpg_check_fails() {
	local name="$1" rc=0
	shift
	"$@" >"$KPG_OUT" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		kpg_pass "$name"
		return 0
	fi
	kpg_fail "$name" "(expected failure, but succeeded: $*) $(kpg__detail)"
	kpg__show_output
	return 1
}

# A probe is one shell command line (a string), e.g. 'grep -q "live patched" /proc/cmdline'.
# It runs in a fresh `sh -c`, i.e. a new process forked after whatever came before.
kpg_probe() { kpg_check "$1" sh -c "$2"; }
kpg_probe_fails() { kpg_check_fails "$1" sh -c "$2"; }

# kpg_wait SECONDS DESCRIPTION CMD [ARGS...]: poll CMD every 50 ms until it succeeds.
# Returns 1 (and logs DESCRIPTION) if it still fails after SECONDS.
kpg_wait() {
	local secs="$1" what="$2" n=0 max
	shift 2
	max=$((secs * 20))
	while ! "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		if [ "$n" -ge "$max" ]; then
			echo "timed out after ${secs}s waiting for $what" >&2
			return 1
		fi
		usleep 50000
	done
	return 0
}

# Module name as the kernel sees it: file name without .ko, '-' -> '_'
# (livepatch-sample.ko -> livepatch_sample, which names /sys/kernel/livepatch/<name>).
kpg_module_name() { basename "$1" .ko | tr - _; }

# kpg_file_is FILE VALUE: FILE exists and contains exactly VALUE (sysfs attributes).
kpg_file_is() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
# kpg_gone PATH: PATH does not exist (any more).
kpg_gone() { [ ! -e "$1" ]; }

# Why a transition does not finish: every task still in the old state, with its kernel
# stack (the function it sleeps in is usually the patched one). /proc/<pid>/patch_state is
# -1 outside a transition, 0/1 during one.
kpg_stall_report() {
	local f pid st
	echo "kpg: tasks not yet switched (pid comm state):"
	for f in /proc/[0-9]*/task/[0-9]*/patch_state; do
		st=$(cat "$f" 2>/dev/null) || continue
		[ "$st" = -1 ] && continue
		pid=${f%/patch_state}
		if [ -n "${KPG_TARGET_STATE:-}" ] && [ "$st" = "$KPG_TARGET_STATE" ]; then
			continue
		fi
		echo "kpg:   ${pid#/proc/} $(cat "$pid/comm" 2>/dev/null) patch_state=$st"
		sed 's/^/kpg:     /' "$pid/stack" 2>/dev/null
	done
}

# kpg_load_livepatch MODULE.ko [PARAM=VALUE...]: insmod a livepatch module and wait for
# its transition to complete (/sys/kernel/livepatch/<name>/transition == 0).
kpg_load_livepatch() {
	local ko="$1" name dir
	shift
	name=$(kpg_module_name "$ko")
	dir=/sys/kernel/livepatch/$name
	[ -f "$ko" ] || { echo "no such module file: $ko" >&2; return 1; }
	# Livepatch modules carry modinfo livepatch=Y; without it klp_enable_patch refuses
	# the module with -EINVAL, which is a confusing way to find out. The tag is a
	# NUL-terminated "livepatch=Y" string in .modinfo (busybox modinfo would need
	# modules.dep, which an added module is not in).
	if ! strings "$ko" | grep -qx 'livepatch=Y'; then
		echo "$ko has no 'livepatch: Y' modinfo tag" >&2
		return 1
	fi
	kpg_kmsg "insmod $ko $*"
	insmod "$ko" "$@" || { echo "insmod $ko failed" >&2; return 1; }
	kpg_wait 5 "$dir to appear" test -d "$dir" || return 1
	if ! kpg_wait "$KPG_TIMEOUT" "$name patching transition" kpg_file_is "$dir/transition" 0; then
		KPG_TARGET_STATE=1 kpg_stall_report >&2
		return 1
	fi
	kpg_file_is "$dir/enabled" 1 || { echo "$dir/enabled is not 1 after the transition" >&2; return 1; }
	kpg_kmsg "$name: patching transition complete"
}

# kpg_disable_livepatch NAME: echo 0 > enabled, wait until the sysfs dir disappears
# (that happens only after the unpatching transition completes and the patch is freed).
kpg_disable_livepatch() {
	local name="$1" dir="/sys/kernel/livepatch/$1"
	[ -d "$dir" ] || { echo "$dir does not exist (patch not loaded?)" >&2; return 1; }
	kpg_kmsg "echo 0 > $dir/enabled"
	echo 0 >"$dir/enabled" || { echo "writing 0 to $dir/enabled failed" >&2; return 1; }
	if ! kpg_wait "$KPG_TIMEOUT" "$name unpatching transition" kpg_gone "$dir"; then
		KPG_TARGET_STATE=0 kpg_stall_report >&2
		return 1
	fi
}

# kpg_rmmod NAME: wait for the module's refcount to drop to 0, rmmod, wait until it is gone.
# A disabled livepatch drops its reference asynchronously (klp_free_patch_work_fn), so an
# immediate rmmod after the sysfs dir vanished can still see refcnt 1.
kpg_rmmod() {
	local name="$1"
	[ -d "/sys/module/$name" ] || { echo "module $name is not loaded" >&2; return 1; }
	kpg_wait "$KPG_TIMEOUT" "/sys/module/$name/refcnt == 0" kpg_file_is "/sys/module/$name/refcnt" 0 ||
		return 1
	kpg_kmsg "rmmod $name"
	rmmod "$name" || { echo "rmmod $name failed" >&2; return 1; }
	kpg_wait 10 "/sys/module/$name to disappear" kpg_gone "/sys/module/$name"
}

# kpg_unload_livepatch NAME: disable, then remove the module.
kpg_unload_livepatch() { kpg_disable_livepatch "$1" && kpg_rmmod "$1"; }

# kpg_modprobe NAME [PARAM=VALUE...]: load an in-tree module of the lab kernel by name
# (e.g. binfmt_misc) from /lib/modules/<release>. Uses insmod on the file found, so it does
# not depend on which module.dep format this busybox understands.
kpg_modprobe() {
	local name="$1" ko
	shift
	[ -d "/sys/module/$name" ] && return 0
	ko=$(find "/lib/modules/$(uname -r)" -name "$name.ko" | head -n 1)
	[ -n "$ko" ] || { echo "module $name.ko not found under /lib/modules/$(uname -r)" >&2; return 1; }
	kpg_kmsg "insmod $ko $*"
	insmod "$ko" "$@"
}

# The whole kernel log. busybox dmesg reads only the last 16 KiB unless told otherwise;
# the lab kernel's buffer is 128 KiB (CONFIG_LOG_BUF_SHIFT=17).
kpg_dmesg() { dmesg -s 262144; }

# kpg_host_now: the host's time in epoch seconds, from the CMOS RTC (QEMU drives it from the
# host's clock); the guest's uptime when there is no RTC. On a starved host the guest's own
# clock falls behind: a CI run did 34 stress cycles without reaching a 420 s uptime budget.
kpg_host_now() {
	if [ -r /sys/class/rtc/rtc0/since_epoch ]; then
		cat /sys/class/rtc/rtc0/since_epoch
	else
		cut -d. -f1 /proc/uptime
	fi
}
# kpg_seconds_left: seconds until the host's timeout kills QEMU (kpg.deadline= on the kernel
# command line, set by lab.sh boot); prints nothing when either clock is unknown.
kpg_seconds_left() {
	local d
	[ -r /sys/class/rtc/rtc0/since_epoch ] || return 0
	d=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^kpg\.deadline=\([0-9]*\)$/\1/p' | head -n 1)
	[ -n "$d" ] && echo $((d - $(kpg_host_now)))
}

# Kernel log bookkeeping by marker lines, not line counts (a count goes wrong once the
# ring buffer wraps): kpg_dmesg_mark NAME writes "kpg-mark NAME" into the kernel log;
# kpg_dmesg_since NAME prints the lines after the last such marker, timestamps stripped.
kpg_dmesg_mark() { echo "kpg-mark $1" >/dev/kmsg; }
kpg_dmesg_since() {
	kpg_dmesg | sed 's/^\[ *[0-9.]*\] //' |
		awk -v m="kpg-mark $1" '$0 == m { n = 0; delete buf; next } { buf[++n] = $0 }
			END { for (i = 1; i <= n; i++) print buf[i] }'
}

# kpg_dmesg_in_order MARK PATTERN...: succeed if the kernel log after marker MARK contains
# lines matching each (grep -E) PATTERN, in this order.
kpg_dmesg_in_order() {
	local mark="$1" log=/tmp/kpg-dmesg.$$ p line=0 found
	shift
	kpg_dmesg_since "$mark" >"$log"
	for p in "$@"; do
		found=$(sed -n "$((line + 1)),\$p" "$log" | grep -n -m1 -E -- "$p" | cut -d: -f1)
		if [ -z "$found" ]; then
			echo "not found in order after line $line of the log since mark '$mark': $p" >&2
			rm -f "$log"
			return 1
		fi
		line=$((line + found))
	done
	rm -f "$log"
}

# The LOADED convention (from kpatch's integration tests): PROBE is a shell command that
#   1. fails before the patch is loaded,
#   2. succeeds once the patching transition has completed,
#   3. fails again after the patch is disabled and its module removed.
# kpg_loaded_probe MODULE.ko PROBE [PARAM=VALUE...] runs the whole sequence as checks named
# "<module>: ...". Returns 0 if every step passed.
kpg_loaded_probe() {
	local ko="$1" probe="$2" name failed_before="$KPG_FAILED"
	shift 2
	name=$(kpg_module_name "$ko")
	kpg_log "LOADED probe for $name: $probe"
	kpg_probe_fails "$name: probe fails before load" "$probe"
	if kpg_check "$name: load and complete transition" kpg_load_livepatch "$ko" "$@"; then
		kpg_probe "$name: probe passes while patched" "$probe"
		if kpg_check "$name: disable and complete unpatching" kpg_disable_livepatch "$name"; then
			kpg_check "$name: rmmod" kpg_rmmod "$name"
		fi
	else
		kpg_fail "$name: probe passes while patched" "(skipped: the patch did not load)"
		# Leave no half-loaded patch behind for the next steps of the scenario.
		[ -d "/sys/kernel/livepatch/$name" ] && kpg_disable_livepatch "$name" >/dev/null 2>&1
		[ -d "/sys/module/$name" ] && kpg_rmmod "$name" >/dev/null 2>&1
	fi
	kpg_probe_fails "$name: probe fails after unload" "$probe"
	[ "$KPG_FAILED" = "$failed_before" ]
}

# Print a one-line summary; scenarios may call it last. The host verdict counts the
# KPG-RESULT lines itself, so this is for humans reading the console.
kpg_summary() { kpg_log "summary: $KPG_PASSED passed, $KPG_FAILED failed"; [ "$KPG_FAILED" = 0 ]; }
