// tuf-js as a TUF client: node client.js METADATA_URL TARGETS_URL TRUSTED_ROOT CACHE_DIR TARGET_PATH OUT_DIR
// Refreshes (root chain, timestamp, snapshot, targets), downloads TARGET_PATH and prints
// {"path": ..., "custom": ...} on success; on any failure prints the error and exits 1.
// SPDX-License-Identifier: GPL-2.0-only
const fs = require('fs');
const path = require('path');
const { Updater } = require('tuf-js');

async function main() {
  const [metadataUrl, targetsUrl, rootFile, cacheDir, targetPath, outDir] = process.argv.slice(2);
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.mkdirSync(outDir, { recursive: true });
  if (!fs.existsSync(path.join(cacheDir, 'root.json'))) fs.copyFileSync(rootFile, path.join(cacheDir, 'root.json'));
  const u = new Updater({ metadataBaseUrl: metadataUrl, targetBaseUrl: targetsUrl, metadataDir: cacheDir, targetDir: outDir });
  await u.refresh();
  const info = await u.getTargetInfo(targetPath);
  if (!info) throw new Error(`no target ${targetPath}`);
  const local = await u.downloadTarget(info);
  console.log(JSON.stringify({ path: local, length: info.length, custom: info.custom }));
}
main().catch((e) => {
  console.error(`tuf-js: ${e.name}: ${e.message}`);
  process.exit(1);
});
