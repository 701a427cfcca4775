#!/bin/bash
# e2e (issue 10, class 9): a changed header without a full build's dependency lists, as on a
# distribution kernel. The target is the lab kernel seen through a directory that holds only
# its vmlinux (a symlink), so the builder cannot use the lab build's .cmd files and takes the
# include-graph path: drivers/thermal/intel/thermal_interrupt.h is included by three units
# of the tree (therm_throt.c and intel_pstate.c in vmlinux, x86_pkg_temp_thermal.c in the
# x86_pkg_temp_thermal module), all three built by the lab config.
#  1. The header alone gains an unused static inline: the three units are compiled, none
#     changes; exit 3 (no-change) and "3 units include it, 3 are in this kernel, 0 changed".
#  2. The header's new inline is used by x86_pkg_temp_thermal.c's sys_get_curr_temp: a
#     module for the x86_pkg_temp_thermal object patching that function, and the report
#     names the one changed unit.
#  3. The graph is cached per release: the second build reads it back (the log says so).
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=builder.header-units
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_kpatch_gen
find_lab_kernel
make_work_dir header-units

hdr=drivers/thermal/intel/thermal_interrupt.h
drv=drivers/thermal/intel/x86_pkg_temp_thermal.c
for f in "$hdr" "$drv"; do [ -f "$LAB/src/$f" ] || die "$EXIT_FAIL" "premise: $f is in the lab source"; done
grep -q '^CONFIG_X86_PKG_TEMP_THERMAL=m' "$LAB/build/.config" || die "$EXIT_FAIL" "premise: x86_pkg_temp_thermal is a module"

# The patches: `diff -u` of edited copies, so that their context is the lab source's.
mkdir -p "$WORK/a/$(dirname "$hdr")" "$WORK/b/$(dirname "$hdr")"
cp "$LAB/src/$hdr" "$WORK/a/$hdr"
cp "$LAB/src/$drv" "$WORK/a/$drv"
sed '/^#endif \/\* _INTEL_THERMAL_INTERRUPT_H \*\//i\
/* A readout above TjMax is bogus: report 0 rather than a negative temperature */\
static inline int pkg_temp_from_readout(int tj_max, u32 eax)\
{\
	int delta = ((eax >> 16) \& 0x7f) * 1000;\
\
	return delta > tj_max ? 0 : tj_max - delta;\
}\
' "$LAB/src/$hdr" >"$WORK/b/$hdr"
grep -q pkg_temp_from_readout "$WORK/b/$hdr" || die "$EXIT_FAIL" "premise: the header edit did not apply"
sed 's/^\t\t\*temp = zonedev->tj_max - ((eax >> 16) & 0x7f) \* 1000;$/\t\t*temp = pkg_temp_from_readout(zonedev->tj_max, eax);/' \
	"$LAB/src/$drv" >"$WORK/b/$drv"
grep -q 'pkg_temp_from_readout(zonedev' "$WORK/b/$drv" || die "$EXIT_FAIL" "premise: the driver edit did not apply"
(cd "$WORK" && diff -u "a/$hdr" "b/$hdr" >header.patch) || true
(cd "$WORK" && diff -u "a/$drv" "b/$drv" >driver.patch) || true

# The target without its build directory: vmlinux alone, config and symvers given.
mkdir -p "$WORK/k"
ln -s "$LAB/build/vmlinux" "$WORK/k/vmlinux"
build() { # build OUT PATCH... -> $rc
	rc=0
	"$KPG_KPATCH_GEN" build "${@:2}" --kernel-src "$LAB/src" --target-vmlinux "$WORK/k/vmlinux" \
		--config "$LAB/build/.config" --symvers "$LAB/build/Module.symvers" --target-modules "$LAB/modules" \
		-o "$WORK/$1" --json >"$WORK/$1.json" 2>"$WORK/$1.log" || rc=$?
}

build header "$WORK/header.patch"
if [ "$rc" != 3 ] || [ "$(jq -r .result "$WORK/header.json")" != no-change ]; then
	show_log "$WORK/header.log"
	die "$EXIT_FAIL" "header alone: expected exit 3 and no-change, got $rc / $(jq -r .result "$WORK/header.json")"
fi
! grep -q "header dependencies from" "$WORK/header.log" || die "$EXIT_FAIL" "the build used a full build's lists"
[ "$(json_get "$WORK/header.json" '.headers[0] | "\(.source) \(.includers) \(.in_kernel | length) \(.changed | length)"')" = \
	"include-graph 3 3 0" ] || die "$EXIT_FAIL" "header report: $(jq -c .headers "$WORK/header.json")"
grep -q "$hdr: 3 units include it, 3 are in this kernel, 0 changed" "$WORK/header.log" ||
	die "$EXIT_FAIL" "no count line in the log: $(grep "$hdr" "$WORK/header.log" || true)"
json_get "$WORK/header.json" '.units[] | "\(.object) \(.objname) \(.result)"' | sort >"$WORK/units"
printf '%s\n' "drivers/cpufreq/intel_pstate.o vmlinux no-change" \
	"drivers/thermal/intel/therm_throt.o vmlinux no-change" \
	"drivers/thermal/intel/x86_pkg_temp_thermal.o x86_pkg_temp_thermal no-change" >"$WORK/want"
diff "$WORK/want" "$WORK/units" || die "$EXIT_FAIL" "per-unit outcomes differ (above)"
log "ok: header alone: 3 units include it, 3 compiled, no change (exit 3)"

build both "$WORK/header.patch" "$WORK/driver.patch"
if [ "$rc" != 0 ]; then
	show_log "$WORK/both.log"
	die "$EXIT_FAIL" "header + driver: expected a module, got exit $rc"
fi
grep -q 'include graph of [0-9]* files read from the cache' "$WORK/both.log" ||
	die "$EXIT_FAIL" "the second build did not read the cached include graph: $(grep 'include graph' "$WORK/both.log" || true)"
grep -q "$hdr: 3 units include it, 3 are in this kernel, 1 changed: x86_pkg_temp_thermal.o" "$WORK/both.log" ||
	die "$EXIT_FAIL" "no count line in the log: $(grep "$hdr" "$WORK/both.log" || true)"
[ "$(json_get "$WORK/both.json" '[.objects[] | "\(.name):\([.functions[].name] | join(","))"] | join(" ")')" = \
	"x86_pkg_temp_thermal:sys_get_curr_temp" ] || die "$EXIT_FAIL" "the module patches $(jq -c .objects "$WORK/both.json")"
ko=$(json_get "$WORK/both.json" '.output.module')
[ -f "$ko" ] || die "$EXIT_FAIL" "no module written ($ko)"
log "PASS: header units found without a full build, counted, compiled and diffed; module for x86_pkg_temp_thermal"
