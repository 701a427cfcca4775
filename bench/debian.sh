#!/bin/bash
# bench/debian: what kpatch-gen costs for Debian's own kernels, from an empty cache, both
# kernel lines side by side.
#
#   bench/debian.sh [RELEASE...]     (default: the 6.1 and the 6.12 cloud release of
#                                     ci/debian-release.sh, e.g. 6.1.0-57-cloud-amd64 and
#                                     6.12.118+deb12-cloud-amd64)
#
# Prints, per release, for a one-.c-file patch (examples/cmdline-string, or its
# cmdline-string.LINE.patch where the line's code differs):
#   - package time: fetching and unpacking the kernel's source/headers/-dbg/image packages
#     (reported apart: it is network and decompression, not kpatch-gen);
#   - time to the first module with an empty cache, without the package time, per stage;
#   - a second patch (examples/meminfo-string) on the now prepared tree (warm);
#   - how many translation units a full build of this config compiles (`make -n` in the
#     prepared tree), against the units kpatch-gen compiled.
# Then one table with a column per release. Each release gets its own temporary
# KPATCH_GEN_CACHE; KPG_BENCH_KEEP=1 keeps them.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC2034 # read by common.sh's messages
KPG_PROG=bench/debian
# shellcheck source=../ci/lab/common.sh disable=SC1091
. "$repo/ci/lab/common.sh"
kpg=${KPATCH_GEN:-$repo/build/kpatch-gen/kpatch-gen}
[ -x "$kpg" ] || { echo "bench/debian: build kpatch-gen first (or set KPATCH_GEN)" >&2; exit 2; }
releases=("$@")
if [ ${#releases[@]} = 0 ]; then
	releases=("$(KPG_DEBIAN_SERIES=6.1 "$repo/ci/debian-release.sh")" "$(KPG_DEBIAN_SERIES=6.12 "$repo/ci/debian-release.sh")")
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/kpg-bench-debian.XXXXXX")
[ "${KPG_BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

build_one() { # build_one DIR NAME EXAMPLE LINE RELEASE CACHE OUT: DIR/NAME.json, DIR/NAME.wall
	local patch t0 t1
	patch=$(kpg_example_file "$repo/examples/$3" "$3.patch" "$4")
	t0=$(date +%s.%N)
	KPATCH_GEN_CACHE=$6 "$kpg" build "$patch" --debian-kernel "$5" -o "$7" --json -q >"$1/$2.json"
	t1=$(date +%s.%N)
	echo "$t0 $t1" >"$1/$2.wall"
}

# measure RELEASE: two builds into $work/RELEASE/, then the rows of its column into
# $work/RELEASE/rows ("label<TAB>value" lines, in table order).
measure() {
	local release=$1 line dir cache out f w prov first warm tree src tus
	line=$(kpg_debian_line "$release")
	dir=$work/$release
	cache=$dir/cache
	out=$dir/out
	mkdir -p "$cache"
	echo "bench/debian: kernel $release (line $line), empty cache $cache"
	build_one "$dir" first cmdline-string "$line" "$release" "$cache" "$out"
	build_one "$dir" warm meminfo-string "$line" "$release" "$cache" "$out"
	f=$dir/first.json
	w=$dir/warm.json
	prov=$(jq -r '.debian.provision_seconds' "$f")
	first=$(jq -r '.total_seconds' "$f")
	warm=$(jq -r '.total_seconds' "$w")
	tree=$(jq -r '.prepared_tree.dir' "$f")
	src=$(jq -r '.prepared_tree.kernel_src' "$f")
	mapfile -t vars < <(jq -r '.prepared_tree.make_vars[]' "$f")
	echo "bench/debian: counting the translation units of a full $release build (make -n) ..."
	# make -n -k exits non-zero (nothing is linked in a prepared tree); the commands it prints
	# for the objects are what counts.
	tus=$({ make -C "$src" O="$tree/orig-obj" "${vars[@]}" -n -k vmlinux modules 2>/dev/null || true; } |
		grep -oE ' -c -o [^ ]+\.o ' | sort -u | wc -l)
	{
		printf 'packages: fetch + unpack (excluded below)\t%.1f\n' "$prov"
		printf 'first module, empty cache (without packages)\t%.1f\n' "$(awk "BEGIN { print $first - $prov }")"
		jq -r '.timings | to_entries[] | "  first: \(.key)\t\(.value)"' "$f"
		printf 'second patch, warm\t%.1f\n' "$warm"
		jq -r '.timings | to_entries[] | "  warm: \(.key)\t\(.value)"' "$w"
		printf 'translation units compiled by kpatch-gen\t%d\n' "$(($(jq '.units | length' "$f") * 2))"
		printf 'translation units of a full build (make -n)\t%d\n' "$tus"
	} >"$dir/rows"
}

for r in "${releases[@]}"; do
	measure "$r"
done

# One table: the first release's row labels, a column per release (a stage one release
# does not have prints "-").
files=()
for r in "${releases[@]}"; do files+=("$work/$r/rows"); done
echo
awk -F'\t' -v names="${releases[*]}" '
	FNR == 1 { file++ }
	{ if (file == 1) order[++rows] = $1; val[file, $1] = $2 }
	END {
		n = split(names, hdr, " ")
		printf "%-46s", "seconds (last two rows: units)"
		for (i = 1; i <= n; i++) printf " %28s", hdr[i]
		printf "\n"
		for (r = 1; r <= rows; r++) {
			printf "%-46s", order[r]
			for (i = 1; i <= n; i++) {
				v = ((i, order[r]) in val) ? val[i, order[r]] : "-"
				if (v ~ /^[0-9]*\.[0-9]+$/) v = sprintf("%.1f", v)
				printf " %28s", v
			}
			printf "\n"
		}
	}' "${files[@]}"
