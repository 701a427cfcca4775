# shellcheck shell=dash disable=SC2016 # the sh -c checks are single-quoted on purpose
# Boot 2: the installed patch was applied by kpatch-gen.service early in boot, before
# sysinit.target and so before any ordinary service started.
. /kpg/lib.sh
probe="grep -q 'kpg_example=cmdline-string' /proc/cmdline"
name=livepatch_cmdline_string
# Monotonic microseconds of a unit property; 0 when the event did not happen.
at() { systemctl show -P "$2" "$1"; }
kpg_check "boot unit ran and succeeded" sh -c '[ "$(systemctl show -P Result kpatch-gen.service)" = success ] &&
	[ "$(systemctl show -P ActiveState kpatch-gen.service)" = active ] &&
	[ "$(systemctl show -P ExecMainStatus kpatch-gen.service)" = 0 ]'
kpg_check "patch live" kpg_file_is /sys/kernel/livepatch/$name/enabled 1
kpg_check "transition complete" kpg_file_is /sys/kernel/livepatch/$name/transition 0
kpg_probe "probe passes" "$probe"
kpg_check "ordinary service saw the patch at its start" kpg_file_is /run/kpg-probe.result patched
done_at=$(at kpatch-gen.service ExecMainExitTimestampMonotonic)
sysinit_at=$(at sysinit.target ActiveEnterTimestampMonotonic)
probe_at=$(at kpg-probe.service ExecMainStartTimestampMonotonic)
kpg_log "kpatch-gen.service done at ${done_at} us, sysinit.target at ${sysinit_at} us, kpg-probe.service started at ${probe_at} us"
kpg_check "boot unit finished before sysinit.target" test "$done_at" -gt 0 -a "$done_at" -le "$sysinit_at"
kpg_check "boot unit finished before the ordinary service started" test "$done_at" -lt "$probe_at"
# The journal tells the same story in its own order: kpatch-load's "patched in" line comes
# before the service's probe line.
journalctl -b --no-pager -o short-monotonic >/tmp/journal
kpg_check "journal: patched before the ordinary service probed" awk '
	/kpatch-load\[[0-9]+\]: kpatch-load: livepatch_cmdline_string: patched in/ && !p { p = NR }
	/kpg-probe: patched/ && !q { q = NR }
	END { exit !(p && q && p < q) }' /tmp/journal
kpg_check "status shows the boot patch" sh -c 'kpatch-load status --json | grep -q "\"boot_patch\": \"livepatch_cmdline_string\""'
kpg_summary
