// A TUF repository written with @tufjs/models (not by kpatch-gen), holding one patch level:
//   node write-repo.js OUT_DIR MODULE.ko TARGET_PATH CUSTOM_JSON
// OUT_DIR/metadata/{1.root,1.targets,1.snapshot}.json, timestamp.json, and the module at
// OUT_DIR/targets/<dir>/<sha256>.<name> (consistent snapshots). Keys: Ed25519 from node's
// crypto; keyids as the specification computes them (sha256 of the canonical key).
// SPDX-License-Identifier: GPL-2.0-only
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { Metadata, Root, Targets, Snapshot, Timestamp, MetaFile, TargetFile, Key, Signature } = require('@tufjs/models');
const { canonicalize } = require('@tufjs/canonical-json');

const [outDir, modulePath, targetPath, customJson] = process.argv.slice(2);
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
// Exactly YYYY-MM-DDTHH:MM:SSZ: toISOString() adds milliseconds, which strict clients refuse.
const expires = new Date(Date.now() + 864e5).toISOString().replace(/\.\d{3}Z$/, 'Z');
function newKey() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const keyval = { public: publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex') };
  const keyID = sha256(canonicalize({ keytype: 'ed25519', scheme: 'ed25519', keyval }));
  return {
    key: new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: keyval }),
    sign: (bytes) => new Signature({ keyID, sig: crypto.sign(null, bytes, privateKey).toString('hex') }),
  };
}
const md = path.join(outDir, 'metadata');
const blob = fs.readFileSync(modulePath);
const H = sha256(blob);
fs.mkdirSync(md, { recursive: true });
fs.mkdirSync(path.join(outDir, 'targets', path.dirname(targetPath)), { recursive: true });
fs.writeFileSync(path.join(outDir, 'targets', path.dirname(targetPath), `${H}.${path.basename(targetPath)}`), blob);
const put = (name, m, k) => {
  m.sign(k.sign);
  const b = Buffer.from(JSON.stringify(m.toJSON(), null, 1));
  fs.writeFileSync(path.join(md, name), b);
  return new MetaFile({ version: m.signed.version, length: b.length, hashes: { sha256: sha256(b) } });
};
const K = { root: newKey(), targets: newKey(), snapshot: newKey(), timestamp: newKey() };
const v1 = { version: 1, specVersion: '1.0.31', expires };
const root = new Metadata(new Root({ ...v1, consistentSnapshot: true }));
for (const r of Object.keys(K)) root.signed.addKey(K[r].key, r);
put('1.root.json', root, K.root);
const targets = new Metadata(new Targets(v1));
targets.signed.addTarget(new TargetFile({ path: targetPath, length: blob.length, hashes: { sha256: H },
  unrecognizedFields: { custom: JSON.parse(customJson) } }));
const tMeta = put('1.targets.json', targets, K.targets);
const sMeta = put('1.snapshot.json', new Metadata(new Snapshot({ ...v1, meta: { 'targets.json': tMeta } })), K.snapshot);
put('timestamp.json', new Metadata(new Timestamp({ ...v1, snapshotMeta: sMeta })), K.timestamp);
