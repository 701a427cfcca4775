#!/bin/bash
# Interoperability, the other way: a repository written with @tufjs/models (tuf-js's metadata
# library; keys and signatures from node's crypto) holding one patch level, served by nginx,
# is accepted by kpatch-agent, which fetches exactly the module; tampered copies (module,
# targets metadata) are refused with exit 3.
. "$(dirname "$0")/lib.sh"
NODE_PATH=$("$here/tufjs/setup.sh")
export NODE_PATH
fake_module "$t/m" lp_js "$FAKE_RELEASE" "$FAKE_BUILD_ID"
tp="$FAKE_RELEASE/$FAKE_BUILD_ID/1/lp_js.ko"
custom=$(jq -nc --arg r "$FAKE_RELEASE" --arg b "$FAKE_BUILD_ID" '{"kpatch-gen": {format: 1, release: $r, build_id: $b,
	level: 1, module: "lp_js", description: "written by @tufjs/models", channels: ["stable"],
	published: "2026-01-01T00:00:00Z", cves: [{id: "CVE-2026-7777", cvss: "9.1", severity: "CRITICAL", since: 1}]}}')
node "$here/tufjs/write-repo.js" "$t/repo" "$t/m/lp_js.ko" "$tp" "$custom"
fake_root "$t/root"
start_nginx "$t/repo"
"$KPATCH_AGENT" --root "$t/root" install --repository "$NGINX_URL" --trusted-root "$t/repo/metadata/1.root.json" \
	--no-start --exec /usr/sbin/kpatch-agent >/dev/null
echo "retries = 0" >>"$t/root/etc/kpatch-gen/agent.conf"
agent check
[ "$rc" = 0 ] || die "kpatch-agent refused the @tufjs/models repository: $(cat "$t/agent.out")"
grep -q -- '-> newer level, fixes CVE-2026-7777 (9.1 CRITICAL)' "$t/agent.out" || die "$(cat "$t/agent.out")"
agent fetch 1 -o "$t/fetched.ko"
[ "$rc" = 0 ] || die "fetch: $(cat "$t/agent.out")"
cmp "$t/m/lp_js.ko" "$t/fetched.ko"
log "kpatch-agent accepted the @tufjs/models repository and fetched the module"

ko=$(find "$t/repo/targets" -name '*.lp_js.ko')
cp "$ko" "$t/ko.good"
flip_byte "$ko" 100
agent -q fetch 1 -o "$t/fetched2.ko"
[ "$rc" = 3 ] || die "tampered module: exit $rc: $(cat "$t/agent.out")"
log "kpatch-agent rejected the tampered module: $(cat "$t/agent.out")"
cp "$t/ko.good" "$ko"
# A fresh machine, so that no cached metadata hides the change.
rm -rf "$t/root/var/lib/kpatch-gen/agent"
sed -i 's/"9.1"/"0.1"/' "$t/repo/metadata/1.targets.json"
agent -q check
[ "$rc" = 3 ] || die "tampered targets metadata: exit $rc: $(cat "$t/agent.out")"
log "kpatch-agent rejected tampered targets metadata: $(cat "$t/agent.out")"
log "PASS"
