#!/bin/bash
# A module changed on the server after it was signed (same length, one byte) is refused by
# kpatch-agent with exit 3 and the reason; nothing is written.
. "$(dirname "$0")/lib.sh"
new_repo
publish lp_one
ko=$(find "$t/repo/targets" -name '*.lp_one.ko')
flip_byte "$ko" 100
agent -q fetch 1 -o "$t/fetched.ko"
[ "$rc" = 3 ] || die "fetch of a tampered module exited $rc: $(cat "$t/agent.out")"
grep -q 'lp_one.ko sha256 is .*(tampered or corrupted)' "$t/agent.out" || die "$(cat "$t/agent.out")"
[ ! -e "$t/fetched.ko" ]
log "PASS: tampered module refused"
