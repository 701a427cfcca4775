#!/bin/bash
# e2e: kpatch-agent keeps a lab guest at the patch level its policy allows.
#
# Host: three cumulative, replace-mode modules built by `kpatch-gen build` against the lab
# kernel from examples/ (level 1: cmdline-string; level 2: + version-string; level 3:
# + meminfo-string), each with its CVEs and CVSS scores (--cve ID:SCORE), published with
# `kpatch-gen repo` as levels 1 and 2 (channel stable) and 3 (channel dev only). A copy of the
# repository directory is kept after each publish (A: level 1; B: + level 2; C: + level 3)
# and one of C whose level-3 module was changed after signing (T).
#
# Guest (agent.scenario): the agent is installed trusting A's 1.root.json and reads
# file:///tmp/repo, a symlink the scenario points at A, B, C or T as the repository "moves
# on". Each example's probe shows which level is live. The lab's verdict also fails on any
# oops or warning in the kernel log.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail

KPG_PROG=agent.levels
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../builder/lib.sh
. "$here/../builder/lib.sh"

need_kpatch_gen
[ -x "${KPG_KPATCH_AGENT:-}" ] || die "$EXIT_MISSING" "KPG_KPATCH_AGENT is not the kpatch-agent binary"
find_lab_kernel
make_work_dir agent-levels

E=$EXAMPLES
build_level() { # build_level N "CVE:SCORE..." PATCH...
	local n=$1 rc=0 t0 c cves=()
	for c in $2; do cves+=(--cve "$c"); done
	shift 2
	t0=$(now_ms)
	# The patches first: --cve takes every following word that is not an option.
	kg_build "$WORK/l$n" build "$LAB" "$@" --name "livepatch_lvl$n" --description "patch level $n" "${cves[@]}" || rc=$?
	if [ "$rc" != 0 ]; then
		show_log "$WORK/l$n/build.log"
		die "$EXIT_FAIL" "building level $n failed (exit $rc)"
	fi
	log "built level $n in $(elapsed "$t0" "$(now_ms)") s: $(jq -c '.cvss' "$WORK/l$n/livepatch_lvl$n.json")"
}
build_level 1 "CVE-2099-0101:5.0" "$E/cmdline-string/cmdline-string.patch"
build_level 2 "CVE-2099-0101:5.0 CVE-2099-0102:9.1" \
	"$E/cmdline-string/cmdline-string.patch" "$E/version-string/version-string.patch"
build_level 3 "CVE-2099-0103:4.0" \
	"$E/cmdline-string/cmdline-string.patch" "$E/version-string/version-string.patch" "$E/meminfo-string/meminfo-string.patch"

g=$WORK/guest
R=$WORK/repo
mkdir -p "$g/repos" "$g/probes"
"$KPG_KPATCH_GEN" repo init "$R" --keys "$WORK/keys" >/dev/null
"$KPG_KPATCH_GEN" repo add "$R" --keys "$WORK/keys" "$WORK/l1/livepatch_lvl1.ko"
cp -a "$R" "$g/repos/A"
"$KPG_KPATCH_GEN" repo add "$R" --keys "$WORK/keys" "$WORK/l2/livepatch_lvl2.ko"
cp -a "$R" "$g/repos/B"
"$KPG_KPATCH_GEN" repo add "$R" --keys "$WORK/keys" "$WORK/l3/livepatch_lvl3.ko" --channel dev
cp -a "$R" "$g/repos/C"
"$KPG_KPATCH_GEN" repo verify "$R"
cp -a "$R" "$g/repos/T"
ko=$(find "$g/repos/T/targets" -name '*.livepatch_lvl3.ko')
# One byte in the middle of the module, after signing: what a compromised mirror could do.
printf 'X' | dd of="$ko" bs=1 seek="$(($(stat -c %s "$ko") / 2))" conv=notrunc 2>/dev/null
for n in cmdline-string version-string meminfo-string; do cp "$E/$n/probe" "$g/probes/$n"; done

"$LAB_DIR/lab.sh" run "$here/agent.scenario" --timeout 900 --log "$WORK/console.log" \
	--add "$g:/kpg/agent" --add "$KPG_KPATCH_AGENT:/kpg/bin/kpatch-agent"
log "PASS: levels 1, 2 (atomic replace), auto_update off, min_cvss, channel, pin, rollback, tampered level"
