#!/bin/bash
# `kpatch-gen repo promote/demote` add and remove a channel of a level (a new targets
# version); a level number that several kernel builds have needs --kernel.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/lib/repo.sh"
"$KPATCH_GEN" repo init "$t/repo" >/dev/null
fake_module "$t/m" lp_a
fake_module "$t/m" lp_b 6.1.0-other ffffffffffffffffffffffffffffffffffffffff
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_a.ko" --channel dev >/dev/null
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_b.ko" --channel dev >/dev/null
r=0; "$KPATCH_GEN" repo promote "$t/repo" 1 --channel stable 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q 'level 1 exists for 2 kernel builds: .*say which with --kernel' "$t/err"
"$KPATCH_GEN" repo promote "$t/repo" 1 --channel stable --kernel "$FAKE_RELEASE" | has 'channels now: dev,stable'
"$KPATCH_GEN" repo promote "$t/repo" 1 --channel test --kernel ffff >/dev/null # a build ID prefix
"$KPATCH_GEN" repo list "$t/repo" --json >"$t/l.json"
jq -e --arg r "$FAKE_RELEASE" '.levels[] | select(.release == $r) | .channels == ["dev", "stable"]' "$t/l.json"
jq -e '.levels[] | select(.release == "6.1.0-other") | .channels == ["dev", "test"]' "$t/l.json"
"$KPATCH_GEN" repo demote "$t/repo" 1 --channel dev --kernel "$FAKE_RELEASE" | has 'no longer in channel dev; channels now: stable'
r=0; "$KPATCH_GEN" repo demote "$t/repo" 1 --channel dev --kernel "$FAKE_RELEASE" 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q 'not in channel dev' "$t/err"
r=0; "$KPATCH_GEN" repo promote "$t/repo" 7 --channel stable 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q 'no level 7' "$t/err"
jq -e '.signed.version == 6' "$t/repo/metadata/6.targets.json"
"$KPATCH_GEN" repo verify "$t/repo" >/dev/null
