# shellcheck shell=dash disable=SC2016 # the sh -c checks are single-quoted on purpose
# Boot 3, with kpatch_gen.disable on the kernel command line: the unit is skipped by its
# condition, nothing is patched, and the installation is kept for the next boot.
. /kpg/lib.sh
probe="grep -q 'kpg_example=cmdline-string' /proc/cmdline"
name=livepatch_cmdline_string
kpg_check "kernel command line has kpatch_gen.disable" grep -qw kpatch_gen.disable /proc/cmdline
kpg_check "boot unit skipped by its condition" sh -c '[ "$(systemctl show -P ConditionResult kpatch-gen.service)" = no ]'
kpg_check "no patch loaded" kpg_gone /sys/kernel/livepatch/$name
kpg_check "ordinary service saw no patch" kpg_file_is /run/kpg-probe.result unpatched
kpg_probe_fails "probe fails" "$probe"
# kpatch-load honours the switch itself too (a hand-run `load --installed`).
kpg_check "load --installed honours the switch" sh -c 'kpatch-load load --installed 2>&1 | grep -q "contains kpatch_gen.disable"'
kpg_check "still no patch loaded" kpg_gone /sys/kernel/livepatch/$name
kpg_check "still installed for the next boot" sh -c 'kpatch-load list | grep -q livepatch_cmdline_string'
kpg_summary
