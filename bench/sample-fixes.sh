#!/bin/bash
# bench/sample-fixes: a quick sample of real stable fixes for a Debian kernel of any line,
# built and booted, without bench/fixes' curated corpus (whose cases, expected outcomes and
# judgements are for 6.1).
#
#   bench/sample-fixes.sh [--every N] [--max-lines L] OLD_SOURCE_VERSION RELEASE
#   e.g. bench/sample-fixes.sh 6.12.107-1~deb12u1 6.12.107+deb12-cloud-amd64
#
# 1. Fetches linux-source-<line> at OLD_SOURCE_VERSION (apt-get download) and takes the
#    installed /usr/src/linux-source-<line>.tar.xz as the newer tree.
# 2. The .c files that differ in core areas (net/{ipv4,ipv6,sched,netfilter,core,unix,packet,
#    tls,mptcp}, fs/{ext4,proc,nfs,nfsd,smb,fuse,overlayfs}, mm, kernel, block, lib,
#    security, crypto) with at most L changed lines (default 12), sorted by size then name;
#    every Nth (default 13) is a case: one patch per file (diff -u, deterministic).
# 3. `kpatch-gen build --debian-kernel RELEASE` for each, then one QEMU boot of RELEASE's own
#    vmlinuz that loads and unloads every module built (ci/lab/lab.sh; clean kernel log).
# Prints one line per case and a summary. Work dir: $KPG_SAMPLE_DIR (default a temp dir, kept).
# A compile error here is usually a fix that needs code from another file of the same
# stable update (a new helper, a struct member): the one-file-per-patch rule, not kpatch-gen.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
kpg=${KPATCH_GEN:-$repo/build/kpatch-gen/kpatch-gen}
every=13
max_lines=12
while [ $# -gt 0 ]; do
	case $1 in
	--every) every=$2; shift 2 ;;
	--max-lines) max_lines=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "bench/sample-fixes: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# = 2 ] || { echo "usage: bench/sample-fixes.sh [--every N] [--max-lines L] OLD_SOURCE_VERSION RELEASE" >&2; exit 2; }
old_version=$1
release=$2
[ -x "$kpg" ] || { echo "bench/sample-fixes: build kpatch-gen first (or set KPATCH_GEN)" >&2; exit 2; }
line=$(echo "$old_version" | sed -E 's/^([0-9]+\.[0-9]+)\..*/\1/')
new_tar=/usr/src/linux-source-$line.tar.xz
[ -r "$new_tar" ] || { echo "bench/sample-fixes: $new_tar missing (apt-get install linux-source-$line)" >&2; exit 3; }
work=${KPG_SAMPLE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kpg-sample-fixes.XXXXXX")}
mkdir -p "$work/old" "$work/new" "$work/patches" "$work/out"
echo "bench/sample-fixes: linux-source-$line $old_version -> $(dpkg-query -W -f='${Version}' "linux-source-$line" 2>/dev/null || echo installed), kernel $release, work dir $work"

if [ ! -d "$work/old/linux-source-$line" ]; then
	(cd "$work" && apt-get download "linux-source-$line=$old_version" >/dev/null)
	dpkg-deb --fsys-tarfile "$work"/linux-source-"$line"_*.deb | tar -xO "./usr/src/linux-source-$line.tar.xz" | tar -xJ -C "$work/old"
fi
[ -d "$work/new/linux-source-$line" ] || tar -xJf "$new_tar" -C "$work/new"
o=$work/old/linux-source-$line
n=$work/new/linux-source-$line

area='^(net/(ipv4|ipv6|sched|netfilter|core|unix|packet|tls|mptcp)|fs/(ext4|proc|nfs|nfsd|smb|fuse|overlayfs)|mm|kernel|block|lib|security|crypto)/'
(cd "$o" || exit 1; diff -rq . "$n" 2>/dev/null || true) | sed -n 's|^Files \./\([^ ]*\.c\) and .*differ$|\1|p' | grep -E "$area" |
	while read -r f; do
		printf '%d %s\n' "$(diff -u "$o/$f" "$n/$f" | grep -cE '^[-+][^-+]' || true)" "$f"
	done | sort -k1,1n -k2 | awk -v m="$max_lines" '$1 > 0 && $1 <= m {print $2}' | awk -v e="$every" 'NR % e == 1' >"$work/sample.txt"
echo "bench/sample-fixes: $(wc -l <"$work/sample.txt") cases"

adds=()
echo '. /kpg/lib.sh' >"$work/boot.scenario"
declare -A count=()
while read -r f; do
	c=$(echo "${f%.c}" | tr '/.-' '___')
	(cd "$o" || exit 1; diff -u --label "a/$f" --label "b/$f" "$f" "$n/$f" >"$work/patches/$c.patch" || true)
	rc=0
	t0=$(date +%s)
	"$kpg" build "$work/patches/$c.patch" --debian-kernel "$release" --name "fix_$c" -o "$work/out/$c" --json -q \
		>"$work/out/$c.json" 2>"$work/out/$c.log" || rc=$?
	result=$(jq -r '.result // "error"' "$work/out/$c.json" 2>/dev/null || echo error)
	codes=$(jq -r '[.refusals[]?.code] | unique | join(",")' "$work/out/$c.json" 2>/dev/null || true)
	printf '%-48s exit %d %4ds %s %s\n' "$f" "$rc" "$(($(date +%s) - t0))" "$result" "$codes"
	count[$result]=$((${count[$result]:-0} + 1))
	if [ "$result" = built ]; then
		adds+=(--add "$work/out/$c/fix_$c.ko:/kpg/add/fix_$c.ko")
		echo "if kpg_check \"fix_$c: load\" kpg_load_livepatch /kpg/add/fix_$c.ko; then kpg_check \"fix_$c: unload\" kpg_unload_livepatch fix_$c; fi" >>"$work/boot.scenario"
	fi
done <"$work/sample.txt"
echo kpg_summary >>"$work/boot.scenario"

booted="not booted (nothing built)"
if [ ${#adds[@]} -gt 0 ]; then
	# One jq over all results (not jq | head: with pipefail, jq's SIGPIPE would end the script).
	vmlinuz=$(jq -s -r 'map(select(.result == "built"))[0].debian.vmlinuz' "$work"/out/*.json)
	"$repo/ci/lab/lab.sh" initramfs -o "$work/initrd.cpio" --scenario "$work/boot.scenario" "${adds[@]}" 2>/dev/null
	rc=0
	KPG_LAB_UNVERIFIED_KERNEL=1 "$repo/ci/lab/lab.sh" boot --kernel "$vmlinuz" --initrd "$work/initrd.cpio" \
		--timeout 900 --log "$work/console.log" 2>/dev/null || rc=$?
	if [ "$rc" = 0 ] && "$repo/ci/lab/lab.sh" judge "$work/console.log" >"$work/judge.log" 2>&1; then
		booted="all $((${#adds[@]} / 2)) loaded and unloaded cleanly in one boot of $release"
	else
		booted="boot FAILED (exit $rc; console $work/console.log)"
	fi
fi
summary=""
for k in "${!count[@]}"; do summary+="$k ${count[$k]}; "; done
echo "summary: $(wc -l <"$work/sample.txt") cases; ${summary}modules: $booted"
