#!/bin/bash
# `kpatch-gen repo verify` runs a client's checks: a tampered target, tampered metadata and an
# expired timestamp each make it exit 3 with the reason.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/lib/repo.sh"
"$KPATCH_GEN" repo init "$t/repo" --expires timestamp=1s >/dev/null
fake_module "$t/m" lp_a
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_a.ko" >/dev/null
"$KPATCH_GEN" repo refresh "$t/repo" --expires timestamp=1d --force >/dev/null
cp -a "$t/repo" "$t/good"
ko=$(find "$t/repo/targets" -name '*.lp_a.ko')
flip_byte "$ko" 10
r=0; "$KPATCH_GEN" repo verify "$t/repo" 2>"$t/err" || r=$?
[ "$r" = 3 ]
grep -q 'lp_a.ko sha256 is .* (tampered or corrupted)' "$t/err"
rm -rf "$t/repo" && cp -a "$t/good" "$t/repo"
tj=$(ls "$t/repo/metadata/"*.targets.json | sort -V | tail -n 1)
sed -i 's/test module lp_a/test module XX_a/' "$tj"
r=0; "$KPATCH_GEN" repo verify "$t/repo" 2>"$t/err" || r=$?
[ "$r" = 3 ]
grep -q 'differs from the .* that snapshot.json lists' "$t/err"
rm -rf "$t/repo" && cp -a "$t/good" "$t/repo"
"$KPATCH_GEN" repo refresh "$t/repo" --expires timestamp=1s --force >/dev/null
sleep 1.2
r=0; "$KPATCH_GEN" repo verify "$t/repo" 2>"$t/err" || r=$?
[ "$r" = 3 ]
grep -q 'the timestamp metadata expired' "$t/err"
