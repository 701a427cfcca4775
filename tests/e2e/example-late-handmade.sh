#!/bin/sh
# e2e: run examples/module-binfmt-misc-late through the example runner
# (ci/lab/run-example.sh -> ci/lab/guest/example.sh -> the example's own scenario) with a
# hand-written live patch of the same behaviour (handmade/livepatch-binfmt-misc-late.c),
# compiled out of tree against the lab kernel at test time. This proves the example's
# late-module scenario, setup and probe work in the lab before kpatch-gen builds modules:
# the patch is loaded while binfmt_misc is absent, applied when the module loads, and
# reverted when it unloads.
# SPDX-License-Identifier: GPL-2.0-only
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo="$here/../.."
kdir=$("$repo/ci/lab/lab.sh" kernel --print-dir) || {
	echo "example-late-handmade: the lab kernel is not built; run ci/lab/lab.sh kernel" >&2
	exit 1
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kpg-handmade.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# struct Node and its flag names, cut from this kernel's fs/binfmt_misc.c.
sed -n '/^enum {Enabled, Magic};$/,/^} Node;$/p' "$kdir/src/fs/binfmt_misc.c" >"$tmp/binfmt_misc_node.h"
if ! grep -q '^} Node;$' "$tmp/binfmt_misc_node.h"; then
	echo "example-late-handmade: could not find 'enum {Enabled, Magic}; ... } Node;' in $kdir/src/fs/binfmt_misc.c" >&2
	exit 1
fi
cp "$here/handmade/livepatch-binfmt-misc-late.c" "$tmp/"
# shellcheck disable=SC2016 # $(src) is for make
printf 'obj-m := livepatch-binfmt-misc-late.o\nccflags-y := -I$(src)\n' >"$tmp/Makefile"
if ! make -C "$kdir/build" M="$tmp" modules >"$tmp/make.log" 2>&1 || grep -q 'warning:' "$tmp/make.log"; then
	cat "$tmp/make.log" >&2
	echo "example-late-handmade: building livepatch-binfmt-misc-late.ko failed or warned" >&2
	exit 1
fi
exec "$repo/ci/lab/run-example.sh" --timeout 120 "$@" \
	"$repo/examples/module-binfmt-misc-late" "$tmp/livepatch-binfmt-misc-late.ko"
