#!/bin/bash
# Targets metadata edited on the server (a CVSS score lowered) is refused with exit 3: its
# hash no longer matches the snapshot. Re-signed with a key the root does not name, a
# timestamp is refused too.
. "$(dirname "$0")/lib.sh"
new_repo
fake_module "$t/m" lp_one "$FAKE_RELEASE" "$FAKE_BUILD_ID" CVE-2026-1111:9.8
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_one.ko" >/dev/null
cp -a "$t/repo/metadata" "$t/metadata.good"
sed -i 's/"9.8"/"1.0"/' "$t/repo/metadata/2.targets.json"
agent -q check
[ "$rc" = 3 ] || die "tampered targets metadata: exit $rc: $(cat "$t/agent.out")"
grep -q 'repository metadata rejected: .*2.targets.json: sha256 hash .* differs from the .* that snapshot.json lists' \
	"$t/agent.out" || die "$(cat "$t/agent.out")"
rm -rf "$t/repo/metadata" && cp -a "$t/metadata.good" "$t/repo/metadata"
# A timestamp signed with a fresh key under the real keyid.
python3 - "$t/repo/metadata/timestamp.json" <<'PY'
import json, sys, subprocess, tempfile, os
path = sys.argv[1]
doc = json.load(open(path))
doc["signed"]["version"] += 1
# Any Ed25519 signature by a key the root does not list.
d = tempfile.mkdtemp()
subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", d + "/k.pem"], check=True)
def canon(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
open(d + "/msg", "wb").write(canon(doc["signed"]).encode())
subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", d + "/k.pem", "-rawin", "-in", d + "/msg", "-out", d + "/sig"], check=True)
doc["signatures"][0]["sig"] = open(d + "/sig", "rb").read().hex()
json.dump(doc, open(path, "w"))
PY
agent -q check
[ "$rc" = 3 ] || die "timestamp signed by another key: exit $rc: $(cat "$t/agent.out")"
grep -q 'timestamp role: valid signatures of 0 of the 1 required key(s)' "$t/agent.out" || die "$(cat "$t/agent.out")"
log "PASS: tampered and re-signed metadata refused"
