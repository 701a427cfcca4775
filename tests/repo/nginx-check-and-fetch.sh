#!/bin/bash
# A repository written by `kpatch-gen repo`, served by nginx: kpatch-agent (installed on a fake
# machine root, trusting 1.root.json) sees level 1 of its kernel build with the CVE's score,
# and `fetch` writes exactly the published module.
. "$(dirname "$0")/lib.sh"
new_repo
fake_module "$t/m" lp_one "$FAKE_RELEASE" "$FAKE_BUILD_ID" CVE-2026-1111:8.2
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_one.ko" >/dev/null
agent check
[ "$rc" = 0 ] || die "check exited $rc: $(cat "$t/agent.out")"
grep -q -- '-> newer level, fixes CVE-2026-1111 (8.2 HIGH)' "$t/agent.out" || die "$(cat "$t/agent.out")"
grep -q 'level 1 should be applied (installed: no level)' "$t/agent.out"
agent fetch 1 -o "$t/fetched.ko"
[ "$rc" = 0 ] || die "fetch exited $rc: $(cat "$t/agent.out")"
cmp "$t/m/lp_one.ko" "$t/fetched.ko"
# Every file came from nginx, under its TUF name.
grep -q "GET /targets/$FAKE_RELEASE/$FAKE_BUILD_ID/1/$(sha256sum "$t/m/lp_one.ko" | cut -d' ' -f1).lp_one.ko 200" "$NGINX_LOG"
log "PASS: check and fetch over nginx"
