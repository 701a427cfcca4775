#!/bin/bash
# `kpatch-gen repo add` publishes modules as patch levels 1, 2... of their kernel build, under
# RELEASE/BUILD_ID/LEVEL/<sha256>.MODULE.ko, with custom metadata whose CVE list is cumulative
# (level 2 also lists level 1's fix, with the level that first fixed it), and every publish
# bumps targets, snapshot and timestamp.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/lib/repo.sh"
"$KPATCH_GEN" repo init "$t/repo" >/dev/null
fake_module "$t/m" lp_one "$FAKE_RELEASE" "$FAKE_BUILD_ID" CVE-2026-1111:5.3
fake_module "$t/m" lp_two "$FAKE_RELEASE" "$FAKE_BUILD_ID" CVE-2026-2222:9.8
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_one.ko" >"$t/out1"
grep -q "level 1 of $FAKE_RELEASE (build ID $FAKE_BUILD_ID): lp_one, channels stable, CVEs: CVE-2026-1111 5.3 MEDIUM" "$t/out1"
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_two.ko" --channel dev >/dev/null
sha=$(sha256sum "$t/m/lp_two.ko" | cut -d' ' -f1)
cmp "$t/m/lp_two.ko" "$t/repo/targets/$FAKE_RELEASE/$FAKE_BUILD_ID/2/$sha.lp_two.ko"
"$KPATCH_GEN" repo list "$t/repo" --json >"$t/list.json"
jq -e '.versions == {root: 1, targets: 3, snapshot: 3, timestamp: 3}' "$t/list.json"
jq -e '.levels[1] | .level == 2 and .module == "lp_two" and .channels == ["dev"]' "$t/list.json"
jq -e '.levels[1].cves == [{id: "CVE-2026-1111", cvss: "5.3", severity: "MEDIUM", since: 1},
                           {id: "CVE-2026-2222", cvss: "9.8", severity: "CRITICAL", since: 2}]' "$t/list.json"
# The custom metadata is in the signed targets role, as the agent reads it.
jq -e --arg p "$FAKE_RELEASE/$FAKE_BUILD_ID/2/lp_two.ko" \
	'.signed.targets[$p].custom["kpatch-gen"].level == 2 and .signed.targets[$p].length > 4096' \
	"$t/repo/metadata/3.targets.json"
"$KPATCH_GEN" repo list "$t/repo" | has '  level 2  lp_two .*channels: dev .*CVE-2026-2222 9.8 CRITICAL'
"$KPATCH_GEN" repo verify "$t/repo" | has '2 target(s) verified'
# A CVE metadata file and --cve give scores at publish time.
fake_module "$t/m" lp_three "$FAKE_RELEASE" "$FAKE_BUILD_ID" CVE-2026-3333
echo '[{"id": "CVE-2026-3333", "cvss": 7.1}]' >"$t/cves.json"
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_three.ko" --cve-file "$t/cves.json" --cve CVE-2026-4444:2.0 >/dev/null
"$KPATCH_GEN" repo list "$t/repo" --json | jq -e '.levels[2].cves[2:] == [
	{id: "CVE-2026-3333", cvss: "7.1", severity: "HIGH", since: 3}, {id: "CVE-2026-4444", cvss: "2.0", severity: "LOW", since: 3}]'
