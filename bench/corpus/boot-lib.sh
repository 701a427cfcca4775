# shellcheck shell=dash
# Guest side of bench/fixes (busybox ash, in Debian's kernel under QEMU). bench/fixes
# appends one line per built module:
#   fix_module CASE /kpg/add/fix/MODULE.ko [TARGET-MODULE.ko...]
# Each case's checks are named "fix CASE: ..."; the host reads them back from the console.
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC1091 # the lab guest library, in the initramfs
. /kpg/lib.sh

KL=/kpg/add/kpatch-load

# Kernel log lines that fail a case (the lab's verdict patterns, ci/lab/lab.sh).
FIX_BAD='Oops|BUG:|WARNING:|Call Trace|Kernel panic|kernel BUG at|general protection fault|Unable to handle|UBSAN:|refcount_t:|list_(add|del) corruption|stack-protector|soft lockup|hung_task|RCU stall'

fix_dmesg_clean() { # fix_dmesg_clean MARK: no bad line in the kernel log since MARK
	if kpg_dmesg_since "$1" | grep -E "$FIX_BAD"; then
		return 1
	fi
	return 0
}

fix_module() {
	local case="$1" ko="$2" m mod patch
	shift 2
	patch=$(kpg_module_name "$ko")
	kpg_dmesg_mark "fix-$case"
	kpg_log "fix $case: $patch"
	# The patched module first (with what it depends on), so that the livepatch applies to
	# it rather than waiting for it. A module that cannot load here (no such hardware,
	# kvm_amd without SVM) is only noted: the patch then just waits for it.
	for m in "$@"; do
		mod=$(kpg_module_name "$m")
		[ -d "/sys/module/$mod" ] && continue
		if insmod "$m" >/tmp/fix-insmod.out 2>&1; then
			kpg_log "fix $case: target module $mod loaded"
		else
			kpg_log "fix $case: target module $mod not loaded: $(head -n 1 /tmp/fix-insmod.out)"
		fi
	done
	if ! kpg_check "fix $case: load (kpatch-load, transition complete)" "$KL" load --timeout 60 "$ko"; then
		kpg_fail "fix $case: unloaded" "(skipped: the patch did not load)"
		return 0
	fi
	kpg_check "fix $case: enabled, no transition pending" sh -c \
		"[ \"\$(cat /sys/kernel/livepatch/$patch/enabled)\" = 1 ] && [ \"\$(cat /sys/kernel/livepatch/$patch/transition)\" = 0 ]"
	# A case may bring a probe (bench/corpus/probes/CASE): a shell command line that must
	# pass while the patch is applied.
	if [ -f "/kpg/add/probes/$case" ]; then
		kpg_probe "fix $case: probe while patched" "$(cat "/kpg/add/probes/$case")"
	fi
	kpg_check "fix $case: unload (kpatch-load)" "$KL" unload "$patch"
	kpg_check "fix $case: kernel log clean" fix_dmesg_clean "fix-$case"
	kpg_check "fix $case: unloaded" kpg_gone "/sys/module/$patch"
}
