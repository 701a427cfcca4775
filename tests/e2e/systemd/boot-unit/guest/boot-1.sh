# shellcheck shell=dash
# Boot 1: what a user does once: enable the boot unit, install the patch, reboot.
. /kpg/lib.sh
probe="grep -q 'kpg_example=cmdline-string' /proc/cmdline"
kpg_check "kpatch-load installed in /usr/sbin" test -x /usr/sbin/kpatch-load
kpg_check "boot unit installed" systemctl cat kpatch-gen.service
kpg_check "ordinary service saw no patch (control)" kpg_file_is /run/kpg-probe.result unpatched
kpg_probe_fails "probe fails before install" "$probe"
kpg_check "systemctl enable kpatch-gen.service" systemctl enable kpatch-gen.service
kpg_check "kpatch-load install" kpatch-load install /root/livepatch_cmdline_string.ko
kpg_check "install alone loads nothing" kpg_gone /sys/kernel/livepatch/livepatch_cmdline_string
echo reboot >/kpg/state/next
kpg_summary
