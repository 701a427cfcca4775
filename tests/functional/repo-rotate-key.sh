#!/bin/bash
# `kpatch-gen repo rotate-key` for every role: a new root version lists the new key and is
# signed by the old and the new root keys; the old key moves to KEYS/retired; a client that
# only trusts 1.root.json follows the whole chain.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/lib/repo.sh"
"$KPATCH_GEN" repo init "$t/repo" >/dev/null
fake_module "$t/m" lp_a
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_a.ko" >/dev/null
old_root=$(jq -r '.signed.roles.root.keyids[0]' "$t/repo/metadata/1.root.json")
for role in timestamp snapshot targets root; do
	"$KPATCH_GEN" repo rotate-key "$t/repo" "$role" | has "$role key .* replaced by"
done
jq -e '.signed.version == 5' "$t/repo/metadata/5.root.json"
jq -e '.signatures | length == 2' "$t/repo/metadata/5.root.json" # old and new root keys
jq -e '.signatures | length == 1' "$t/repo/metadata/4.root.json" # the root key itself did not change
test -f "$t/repo.keys/retired/$old_root.pem"
not test -e "$t/repo.keys/$old_root.pem"
"$KPATCH_GEN" repo verify "$t/repo" | has 'valid: root v5 (4 rotation(s) from'
r=0; "$KPATCH_GEN" repo rotate-key "$t/repo" mirrors 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q 'no role "mirrors"' "$t/err"
