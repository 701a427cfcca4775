# Guest scenario for one example and its livepatch module (ci/lab/run-example.sh prepends
# KPG_EXAMPLE_DIR=/kpg/example and KPG_KO=/kpg/example/<module>.ko).
# Default flow: the example's `setup` (if any), then the LOADED sequence of its `probe`.
# An example with its own `scenario` file replaces that flow; the scenario is sourced here
# and can use KPG_KO, KPG_NAME (the livepatch's sysfs name), KPG_PROBE, KPG_EXAMPLE_DIR,
# kpg_example_setup and everything in lib.sh.
# shellcheck shell=dash
# shellcheck source-path=SCRIPTDIR source=lib.sh
. /kpg/lib.sh

: "${KPG_EXAMPLE_DIR:?}" "${KPG_KO:?}"
KPG_NAME=$(kpg_module_name "$KPG_KO")
KPG_PROBE=$(cat "$KPG_EXAMPLE_DIR/probe")

# Run the example's setup file (load/mount/register what the probe needs), if it has one.
kpg_example_setup() {
	[ ! -f "$KPG_EXAMPLE_DIR/setup" ] || sh "$KPG_EXAMPLE_DIR/setup"
}

if [ -f "$KPG_EXAMPLE_DIR/scenario" ]; then
	# shellcheck source=/dev/null
	. "$KPG_EXAMPLE_DIR/scenario"
else
	if [ -f "$KPG_EXAMPLE_DIR/setup" ]; then
		kpg_check "$KPG_NAME: setup" kpg_example_setup
	fi
	kpg_loaded_probe "$KPG_KO" "$KPG_PROBE"
fi
kpg_summary
