#!/bin/bash
# Interoperability, one way: tuf-js's Updater (an independent TUF client, from the npm
# registry) accepts a repository written by `kpatch-gen repo` and served by nginx, follows
# its root rotation from 1.root.json, and downloads the same module bytes; tampered copies
# (module, targets metadata, a timestamp signed by another key) are rejected by it.
. "$(dirname "$0")/lib.sh"
NODE_PATH=$("$here/tufjs/setup.sh")
export NODE_PATH
new_repo
fake_module "$t/m" lp_one "$FAKE_RELEASE" "$FAKE_BUILD_ID" CVE-2026-1111:7.5
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_one.ko" >/dev/null
"$KPATCH_GEN" repo rotate-key "$t/repo" root >/dev/null
"$KPATCH_GEN" repo rotate-key "$t/repo" timestamp >/dev/null
tp="$FAKE_RELEASE/$FAKE_BUILD_ID/1/lp_one.ko"
tufjs() { # tufjs CACHE: run the tuf-js client with a fresh or given cache; sets rc
	rc=0
	node "$here/tufjs/client.js" "$NGINX_URL/metadata" "$NGINX_URL/targets" "$t/repo/metadata/1.root.json" \
		"$1" "$tp" "$1.out" >"$t/tufjs.out" 2>&1 || rc=$?
}
tufjs "$t/c1"
[ "$rc" = 0 ] || die "tuf-js refused kpatch-gen's repository: $(cat "$t/tufjs.out")"
jq -e '.custom["kpatch-gen"].level == 1 and .custom["kpatch-gen"].cves[0].cvss == "7.5"' "$t/tufjs.out" >/dev/null
cmp "$t/m/lp_one.ko" "$(jq -r .path "$t/tufjs.out")"
cmp "$t/repo/metadata/3.root.json" "$t/c1/root.json" # it walked the root chain (two rotations)
log "tuf-js accepted the repository and downloaded the module"

cp -a "$t/repo" "$t/good"
restore() { rm -rf "$t/repo" && cp -a "$t/good" "$t/repo"; }
ko=$(find "$t/repo/targets" -name '*.lp_one.ko')
flip_byte "$ko" 100
tufjs "$t/c2"
[ "$rc" = 1 ] || die "tuf-js accepted a tampered module"
grep -qi 'hash' "$t/tufjs.out" || die "unexpected tuf-js error: $(cat "$t/tufjs.out")"
log "tuf-js rejected the tampered module: $(cat "$t/tufjs.out")"
restore
sed -i 's/"7.5"/"0.1"/' "$t/repo/metadata/2.targets.json"
tufjs "$t/c3"
[ "$rc" = 1 ] || die "tuf-js accepted tampered targets metadata"
log "tuf-js rejected tampered targets metadata: $(cat "$t/tufjs.out")"
restore
jq '.signed.version += 1 | .signatures[0].sig = ("00" * 64)' "$t/repo/metadata/timestamp.json" >"$t/ts" &&
	mv "$t/ts" "$t/repo/metadata/timestamp.json"
tufjs "$t/c4"
[ "$rc" = 1 ] || die "tuf-js accepted a timestamp with a bad signature"
grep -q 'signed by 0/1 keys' "$t/tufjs.out" || die "unexpected tuf-js error: $(cat "$t/tufjs.out")"
log "tuf-js rejected a badly signed timestamp: $(cat "$t/tufjs.out")"
log "PASS"
