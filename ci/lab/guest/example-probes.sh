# Guest scenario for `check-examples.sh --boot` (the host prepends KPG_PROBES_EXPECT=pass
# or fail). Runs every example's setup, then its probe, from /kpg/examples/<name>/:
#   pass: on the kernel built with the examples applied, every probe must succeed;
#   fail: on the pristine lab kernel, every probe must fail.
# Together they show that each probe detects the example's change and nothing else.
# shellcheck shell=dash
# shellcheck source-path=SCRIPTDIR source=lib.sh
. /kpg/lib.sh

: "${KPG_PROBES_EXPECT:?the host sets pass or fail}"
for dir in /kpg/examples/*/; do
	name=$(basename "$dir")
	[ -f "$dir/probe" ] || continue
	if [ -f "$dir/setup" ]; then
		kpg_check "$name: setup" sh "$dir/setup" || continue
	fi
	if [ "$KPG_PROBES_EXPECT" = pass ]; then
		kpg_probe "$name: probe passes on the patched kernel" "$(cat "$dir/probe")"
	else
		kpg_probe_fails "$name: probe fails on the pristine kernel" "$(cat "$dir/probe")"
	fi
done
kpg_summary
