#!/bin/bash
# When nothing changed, a poll is the two small requests the TUF workflow needs: the next
# root version (404 from nginx, which ends the root loop) and timestamp.json. A publish then
# costs the new snapshot and targets metadata, nothing else.
. "$(dirname "$0")/lib.sh"
new_repo
publish lp_one
agent check
[ "$rc" = 0 ] || die "check exited $rc: $(cat "$t/agent.out")"
poll_requests
agent check
[ "$rc" = 0 ] || die "second check exited $rc"
poll_requests
got=$(cat "$t/requests")
want="GET /metadata/2.root.json 404
GET /metadata/timestamp.json 200"
[ "$got" = "$want" ] || die "idle poll requested:
$got"
publish lp_two
agent check
poll_requests
got=$(cat "$t/requests")
want="GET /metadata/2.root.json 404
GET /metadata/timestamp.json 200
GET /metadata/3.snapshot.json 200
GET /metadata/3.targets.json 200"
[ "$got" = "$want" ] || die "poll after a publish requested:
$got"
log "PASS: an idle poll is 2 requests"
