#!/bin/bash
# `kpatch-gen repo init` writes TUF's layout (versioned root, targets and snapshot, an
# unversioned timestamp), keeps the private keys in a 0700 key directory beside the
# repository (0600 files, none inside it), and the result passes a client's checks.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/lib/repo.sh"
"$KPATCH_GEN" repo init "$t/repo" >"$t/out"
grep -q "private keys in $t/repo.keys" "$t/out"
for f in 1.root.json 1.targets.json 1.snapshot.json timestamp.json; do
	test -f "$t/repo/metadata/$f"
done
not test -e "$t/repo/metadata/root.json"
[ "$(stat -c %a "$t/repo.keys")" = 700 ]
[ "$(find "$t/repo.keys" -name '*.pem' | wc -l)" = 4 ]
for k in "$t"/repo.keys/*.pem; do [ "$(stat -c %a "$k")" = 600 ]; done
[ -z "$(find "$t/repo" -name '*.pem')" ]
jq -e '.signed.consistent_snapshot == true and .signed.spec_version == "1.0.31" and .signed.version == 1' \
	"$t/repo/metadata/1.root.json"
jq -e '[.signed.roles[].keyids[]] | length == 4' "$t/repo/metadata/1.root.json"
"$KPATCH_GEN" repo verify "$t/repo" | has 'valid: root v1'
# A second init of the same directory is refused; keys inside the repository are refused.
r=0; "$KPATCH_GEN" repo init "$t/repo" 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q 'already a repository' "$t/err"
r=0; "$KPATCH_GEN" repo init "$t/r2" --keys "$t/r2/keys" 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q 'a static server would publish the private keys' "$t/err"
