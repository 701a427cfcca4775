#!/bin/bash
# With the server gone, `kpatch-agent run` exits 6 with one line that says what failed and that
# the current patch level stays; the next run within the back-off does not even connect.
. "$(dirname "$0")/lib.sh"
new_repo
publish lp_one
agent check
[ "$rc" = 0 ] || die "check exited $rc"
stop_nginx
agent -q run
[ "$rc" = 6 ] || die "run against a stopped server exited $rc: $(cat "$t/agent.out")"
[ "$(wc -l <"$t/agent.out")" = 1 ] || die "more than one line: $(cat "$t/agent.out")"
grep -q "^error: repository unreachable: $NGINX_URL/metadata/2.root.json: .*; keeping no patch level$" "$t/agent.out" ||
	die "$(cat "$t/agent.out")"
agent run
[ "$rc" = 0 ] || die "run within the back-off exited $rc"
grep -q 'backing off after 1 failed poll(s) (unreachable): next try after' "$t/agent.out" || die "$(cat "$t/agent.out")"
agent status --json
jq -e '.last_poll.result == "unreachable" and .backoff.failures == 1' "$t/agent.out"
log "PASS: unreachable server: exit 6, one line, back-off"
