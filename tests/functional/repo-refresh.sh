#!/bin/bash
# `kpatch-gen repo refresh` re-signs only the roles with less than half of their validity left
# (--force: all), with new versions; --expires changes the periods for good.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/lib/repo.sh"
"$KPATCH_GEN" repo init "$t/repo" --expires timestamp=10m >/dev/null
"$KPATCH_GEN" repo refresh "$t/repo" | has 'nothing to re-sign'
# With a 1-day period, a timestamp that expires in 10 minutes has less than half left.
"$KPATCH_GEN" repo refresh "$t/repo" --expires timestamp=1d | has 're-signed timestamp; root v1, targets v1, snapshot v1, timestamp v2'
"$KPATCH_GEN" repo refresh "$t/repo" | has 'nothing to re-sign'
"$KPATCH_GEN" repo refresh "$t/repo" --force | has 're-signed root, targets, snapshot, timestamp'
test -f "$t/repo/metadata/2.root.json"
"$KPATCH_GEN" repo refresh "$t/repo" --expires timestamp=6h --force >/dev/null
"$KPATCH_GEN" repo list "$t/repo" --json >"$t/l.json"
exp=$(jq -r .expires.timestamp "$t/l.json")
left=$(($(date -d "$exp" +%s) - $(date +%s)))
[ "$left" -gt 21000 ] && [ "$left" -le 21600 ]
"$KPATCH_GEN" repo verify "$t/repo" >/dev/null
r=0; "$KPATCH_GEN" repo refresh "$t/repo" --expires timestamp=soon 2>"$t/err" || r=$?
[ "$r" = 2 ]
