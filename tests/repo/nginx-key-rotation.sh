#!/bin/bash
# Key rotations on the server: a machine that last polled before them follows the new roots
# (each signed by the old and the new root keys) and accepts metadata signed with the new
# timestamp, snapshot and targets keys.
. "$(dirname "$0")/lib.sh"
new_repo
publish lp_one
agent check
[ "$rc" = 0 ] || die "check exited $rc"
for role in timestamp snapshot targets root; do
	"$KPATCH_GEN" repo rotate-key "$t/repo" "$role" >/dev/null
done
publish lp_two
agent check --json
[ "$rc" = 0 ] || die "after rotations: exit $rc: $(cat "$t/agent.out")"
jq -e '.repository.root_version == 5 and .chosen == 2' "$t/agent.out"
cmp "$t/repo/metadata/5.root.json" "$t/root/var/lib/kpatch-gen/agent/metadata/root.json"
log "PASS: key rotations followed"
