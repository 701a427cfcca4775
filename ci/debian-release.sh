#!/bin/sh
# Print the Debian 6.1 cloud kernel release that matches the packaged linux-source-6.1
# (same package version), e.g. "6.1.0-56-cloud-amd64". Exit 1 with a message when the
# archives do not offer a matching pair (no network, or source and kernel out of step).
# SPDX-License-Identifier: GPL-2.0-only
set -eu
flavour=${1:-cloud-amd64}
src=$(apt-cache madison linux-source-6.1 2>/dev/null | awk -F'|' 'NR==1 {gsub(/ /, "", $2); print $2}')
if [ -z "$src" ]; then
	echo "debian-release: no linux-source-6.1 in the package lists (apt-get update?)" >&2
	exit 1
fi
# linux-image-<flavour> (the metapackage) of the same version depends on the versioned image.
dep=$(apt-cache show "linux-image-$flavour=$src" 2>/dev/null |
	sed -n "s/^Depends: linux-image-\([0-9.]*-[0-9]*-$flavour\) .*/\1/p" | head -n 1)
if [ -z "$dep" ]; then
	echo "debian-release: no linux-image-$flavour at the source's version $src" >&2
	exit 1
fi
echo "$dep"
