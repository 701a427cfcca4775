#!/bin/bash
# A publisher that stops running `kpatch-gen repo refresh`: once timestamp.json expires the
# agent refuses the repository (freeze attack protection, exit 3); a refresh fixes it.
. "$(dirname "$0")/lib.sh"
new_repo --expires timestamp=2s
publish lp_one
sleep 2.5
agent -q check
[ "$rc" = 3 ] || die "expired timestamp: exit $rc: $(cat "$t/agent.out")"
grep -q 'the timestamp metadata expired at' "$t/agent.out" || die "$(cat "$t/agent.out")"
"$KPATCH_GEN" repo refresh "$t/repo" --expires timestamp=1d >/dev/null
agent check
[ "$rc" = 0 ] || die "after refresh: exit $rc: $(cat "$t/agent.out")"
log "PASS: expired timestamp refused, refresh recovers"
