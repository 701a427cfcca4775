#!/bin/bash
# Installs tuf-js from the npm registry, once, into the shared cache and prints the
# node_modules directory. The version must run on this machine's node: tuf-js 5.0.1 with
# @tufjs/models 4.1.1 needs node ^20.17 || >=22.9; Debian 12's node 18 gets tuf-js 3.1.0
# with @tufjs/models 3.0.1 (engines ^18.17 || >=20.5). tuf-js 6 needs node 22.22+.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
command -v node >/dev/null && command -v npm >/dev/null ||
	{ echo "tufjs/setup.sh: node and npm are needed (ci/install-deps.sh installs them)" >&2; exit 1; }
ver=$(node -p 'process.versions.node')
major=${ver%%.*}
minor=$(echo "$ver" | cut -d. -f2)
if [ "$major" -gt 22 ] || { [ "$major" = 22 ] && [ "$minor" -ge 9 ]; } || { [ "$major" = 20 ] && [ "$minor" -ge 17 ]; }; then
	pkgs="tuf-js@5.0.1 @tufjs/models@4.1.1"
elif [ "$major" -ge 20 ] || { [ "$major" = 18 ] && [ "$minor" -ge 17 ]; }; then
	pkgs="tuf-js@3.1.0 @tufjs/models@3.0.1"
else
	echo "tufjs/setup.sh: node $ver is too old for any tuf-js release (needs 18.17 or later)" >&2
	exit 1
fi
cache=${KPATCH_GEN_CACHE:-${HOME:-/root}/.cache/kpatch-gen}/npm/$(echo "$pkgs" | tr ' @/' '__-')
mkdir -p "$cache"
(
	flock 9
	if [ ! -f "$cache/complete" ]; then
		echo "tufjs/setup.sh: npm install $pkgs (node $ver) into $cache" >&2
		npm install --prefix "$cache" --no-audit --no-fund --loglevel=error $pkgs >&2
		touch "$cache/complete"
	fi
) 9>"$cache.lock"
echo "$cache/node_modules"
