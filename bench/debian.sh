#!/bin/bash
# bench/debian: what kpatch-gen costs for Debian's own kernel, from an empty cache.
#
#   bench/debian.sh [RELEASE]        (default: ci/debian-release.sh, e.g. 6.1.0-56-cloud-amd64)
#
# Prints, for a one-.c-file patch (examples/cmdline-string):
#   - package time: fetching and unpacking the kernel's source/headers/-dbg/image packages
#     (reported apart, as the issue asks: it is network and decompression, not kpatch-gen);
#   - time to the first module with an empty cache, without the package time, per stage;
#   - a second patch (examples/meminfo-string) on the now prepared tree (warm);
#   - how many translation units a full build of this config compiles (`make -n` in the
#     prepared tree), against the units kpatch-gen compiled.
# Uses a temporary KPATCH_GEN_CACHE; KPG_BENCH_KEEP=1 keeps it.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
kpg=${KPATCH_GEN:-$repo/build/kpatch-gen/kpatch-gen}
[ -x "$kpg" ] || { echo "bench/debian: build kpatch-gen first (or set KPATCH_GEN)" >&2; exit 2; }
release=${1:-$("$repo/ci/debian-release.sh")}
cache=$(mktemp -d "${TMPDIR:-/tmp}/kpg-bench-debian.XXXXXX")
[ "${KPG_BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$cache"' EXIT
out="$cache/out"
run() { # run NAME PATCH
	local t0 t1
	t0=$(date +%s.%N)
	KPATCH_GEN_CACHE=$cache "$kpg" build "$repo/examples/$2/$2.patch" --debian-kernel "$release" -o "$out" --json -q >"$cache/$1.json"
	t1=$(date +%s.%N)
	echo "$t0 $t1" >"$cache/$1.wall"
}
echo "bench/debian: kernel $release, empty cache $cache"
run first cmdline-string
run warm meminfo-string
f=$cache/first.json
w=$cache/warm.json
prov=$(jq -r '.debian.provision_seconds' "$f")
first=$(jq -r '.total_seconds' "$f")
warm=$(jq -r '.total_seconds' "$w")
tree=$(jq -r '.prepared_tree.dir' "$f")
src=$(jq -r '.prepared_tree.kernel_src' "$f")
mapfile -t vars < <(jq -r '.prepared_tree.make_vars[]' "$f")
echo "bench/debian: counting the translation units of a full build (make -n) ..."
# make -n -k exits non-zero (nothing is linked in a prepared tree); the commands it prints
# for the objects are what counts.
tus=$({ make -C "$src" O="$tree/orig-obj" "${vars[@]}" -n -k vmlinux modules 2>/dev/null || true; } |
	grep -oE ' -c -o [^ ]+\.o ' | sort -u | wc -l)
printf '\n%-46s %9s\n' "Debian $release" "seconds"
printf '%-46s %9.1f\n' "packages: fetch + unpack (excluded below)" "$prov"
printf '%-46s %9.1f\n' "first module, empty cache (without packages)" "$(awk "BEGIN { print $first - $prov }")"
jq -r '.timings | to_entries[] | "  \(.key)\t\(.value)"' "$f" | awk -F'\t' '{ printf "  %-44s %9.1f\n", $1, $2 }'
printf '%-46s %9.1f\n' "second patch, warm" "$warm"
jq -r '.timings | to_entries[] | "  \(.key)\t\(.value)"' "$w" | awk -F'\t' '{ printf "  %-44s %9.1f\n", $1, $2 }'
printf '%-46s %9d\n' "translation units compiled by kpatch-gen" "$(( $(jq '.units | length' "$f") * 2 ))"
printf '%-46s %9d\n' "translation units of a full build (make -n)" "$tus"
