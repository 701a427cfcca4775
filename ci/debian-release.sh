#!/bin/sh
# Print the Debian cloud kernel release that matches the packaged linux-source-<series>
# (same package version): for series 6.1 (the default, KPG_DEBIAN_SERIES) e.g.
# "6.1.0-56-cloud-amd64", for 6.12 (Debian 13's kernel, in bookworm-security) e.g.
# "6.12.118+deb12-cloud-amd64". Exit 1 with a message when the archives do not offer a
# matching pair (no network, or source and kernel out of step).
#   ci/debian-release.sh [FLAVOUR]     FLAVOUR: cloud-amd64 (default), amd64, rt-amd64
# SPDX-License-Identifier: GPL-2.0-only
set -eu
flavour=${1:-cloud-amd64}
series=${KPG_DEBIAN_SERIES:-6.1}
case "$series" in
6.1) meta=linux-image-$flavour ;;      # Debian 12's own kernel
6.12) meta=linux-image-6.12-$flavour ;; # the backport's metapackages carry the series
*) echo "debian-release: unknown series '$series' (6.1 or 6.12)" >&2; exit 2 ;;
esac
src=$(apt-cache madison "linux-source-$series" 2>/dev/null | awk -F'|' 'NR==1 {gsub(/ /, "", $2); print $2}')
if [ -z "$src" ]; then
	echo "debian-release: no linux-source-$series in the package lists (apt-get update?)" >&2
	exit 1
fi
# The metapackage of the same version depends on the versioned image.
dep=$(apt-cache show "$meta=$src" 2>/dev/null |
	sed -n "s/^Depends: linux-image-\([0-9.]*[-+][0-9a-z]*-$flavour\) .*/\1/p" | head -n 1)
if [ -z "$dep" ]; then
	echo "debian-release: no $meta at the source's version $src" >&2
	exit 1
fi
echo "$dep"
