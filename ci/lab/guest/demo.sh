# Guest scenario for ci/demo.sh (which prepends KPG_KO, KPG_PROBE, KPG_SHOW and maybe
# KPG_SETUP, the example's setup script): show the
# patched behaviour before, during and after a live patch, and check the LOADED probe
# along the way. Lines starting with "DEMO |" are what the host prints.
# shellcheck shell=dash
# shellcheck source-path=SCRIPTDIR source=lib.sh
. /kpg/lib.sh

: "${KPG_KO:?}" "${KPG_PROBE:?}" "${KPG_SHOW:?}"
NAME=$(kpg_module_name "$KPG_KO")
LP=/sys/kernel/livepatch/$NAME

say() { echo "DEMO | $*"; }
show() { # show TITLE: the title, then the output of KPG_SHOW, indented
	say "$1"
	sh -c "$KPG_SHOW" 2>&1 | sed 's/^/DEMO |     /'
}
state() { # the patch's sysfs state in one line
	if [ -d "$LP" ]; then
		echo "enabled=$(cat "$LP/enabled") transition=$(cat "$LP/transition")"
	else
		echo "no $LP"
	fi
}

kpg_dmesg_mark demo
if [ -n "${KPG_SETUP:-}" ]; then
	kpg_check "setup ($KPG_SETUP)" sh "$KPG_SETUP"
fi
say "kernel $(uname -r), live patch module $(basename "$KPG_KO") (sysfs name $NAME)"
say "probe: $KPG_PROBE"
say ""
show "BEFORE the patch, \`$KPG_SHOW\`:"
kpg_probe_fails "before: the probe fails" "$KPG_PROBE"

say ""
say "DURING: insmod $(basename "$KPG_KO")"
kpg_kmsg "demo: insmod $KPG_KO"
if kpg_check "during: insmod" insmod "$KPG_KO"; then
	# Right after insmod the transition may still run: tasks switch to the new code one by
	# one, when they return to user space or when their stacks are checked.
	say "right after insmod: $(state)"
	kpg_check "during: the patching transition completes" \
		kpg_wait "$KPG_TIMEOUT" "the patching transition" kpg_file_is "$LP/transition" 0
	say "transition done:    $(state)"
	show "PATCHED, \`$KPG_SHOW\`:"
	kpg_probe "patched: the probe passes" "$KPG_PROBE"

	say ""
	say "DURING: echo 0 > $LP/enabled"
	kpg_kmsg "demo: disable $NAME"
	echo 0 >"$LP/enabled"
	say "right after disable: $(state)"
	kpg_check "during: the unpatching transition completes and the patch is freed" \
		kpg_wait "$KPG_TIMEOUT" "the unpatching transition" kpg_gone "$LP"
	kpg_check "during: rmmod $NAME" kpg_rmmod "$NAME"
fi

say ""
show "AFTER the patch was disabled and removed, \`$KPG_SHOW\`:"
kpg_probe_fails "after: the probe fails again" "$KPG_PROBE"

say ""
say "kernel log (livepatch):"
kpg_dmesg_since demo | grep -E 'livepatch|demo:' | sed 's/^/DEMO |     /'
kpg_summary
