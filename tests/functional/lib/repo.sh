# shellcheck shell=bash
# Helpers for tests of patch repositories (sourced by tests/functional/repo-*.sh and
# tests/repo/*.sh): stand-in modules with the build report `kpatch-gen build` writes beside
# a module, and fake machine roots for kpatch-agent.
#
#   fake_module DIR NAME [RELEASE] [BUILD_ID] [CVE[:SCORE]...]
#                      writes DIR/NAME.ko (bytes that differ per NAME) and DIR/NAME.json
#   flip_byte FILE OFFSET
#                      inverts one byte in place: a tampered copy that surely differs (writing
#                      a fixed character would leave the file unchanged whenever the random
#                      bytes of a stand-in module already hold it, one run in 256)
#   fake_root DIR [RELEASE] [BUILD_ID]
#                      /proc and /sys files kpatch-agent reads: release, version, GNU build ID
#                      note (/sys/kernel/notes), command line, an empty livepatch tree
# `kpatch-gen repo add` does not parse the module (the agent's loader does), so a stand-in
# is enough here; the kernel-level test (tests/e2e/agent) publishes real modules.
# SPDX-License-Identifier: GPL-2.0-only

FAKE_RELEASE=6.1.0-kpg
FAKE_BUILD_ID=0123456789abcdef0123456789abcdef01234567

fake_module() {
	local dir=$1 name=$2 release=${3:-$FAKE_RELEASE} build_id=${4:-$FAKE_BUILD_ID} ids='[]' cvss='{}' c id score
	shift 4 2>/dev/null || shift $#
	mkdir -p "$dir"
	printf 'stand-in live patch module %s for %s\n' "$name" "$release" >"$dir/$name.ko"
	head -c 4096 /dev/urandom >>"$dir/$name.ko"
	for c in "$@"; do
		id=${c%%:*}
		ids=$(jq -c --arg id "$id" '. + [$id]' <<<"$ids")
		if [ "$c" != "$id" ]; then
			score=${c#*:}
			cvss=$(jq -c --arg id "$id" --arg s "$score" '. + {($id): {score: $s}}' <<<"$cvss")
		fi
	done
	jq -n --arg name "$name" --arg rel "$release" --arg bid "$build_id" \
		--arg sha "$(sha256sum "$dir/$name.ko" | cut -d' ' -f1)" --argjson cves "$ids" --argjson cvss "$cvss" \
		'{format: "kpatch-gen-module/1", name: $name, replace: true, description: ("test module " + $name),
		  cves: $cves, cvss: $cvss, target: {release: $rel, build_id: $bid}, sha256: $sha}' >"$dir/$name.json"
}

flip_byte() {
	local f=$1 off=$2 b
	b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
	[ -n "$b" ] || { echo "flip_byte: $f has no byte at offset $off" >&2; return 1; }
	# shellcheck disable=SC2059 # the format is the escaped byte
	printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

fake_root() {
	local dir=$1 release=${2:-$FAKE_RELEASE} build_id=${3:-$FAKE_BUILD_ID}
	mkdir -p "$dir/proc/sys/kernel/random" "$dir/sys/kernel/livepatch" "$dir/sys/module" "$dir/etc/kpatch-gen"
	echo "$release" >"$dir/proc/sys/kernel/osrelease"
	echo "#1 SMP PREEMPT_DYNAMIC Thu Jan  1 00:00:00 UTC 2026" >"$dir/proc/sys/kernel/version"
	echo "3f1c2a9e-boot-1" >"$dir/proc/sys/kernel/random/boot_id"
	echo "console=ttyS0" >"$dir/proc/cmdline"
	: >"$dir/proc/modules"
	# The .notes section: {namesz 4, descsz, type 3 (NT_GNU_BUILD_ID)}, "GNU\0", the ID.
	python3 - "$dir/sys/kernel/notes" "$build_id" <<'PY'
import struct, sys
desc = bytes.fromhex(sys.argv[2])
desc += b"\0" * (-len(desc) % 4)
open(sys.argv[1], "wb").write(struct.pack("<III", 4, len(bytes.fromhex(sys.argv[2])), 3) + b"GNU\0" + desc)
PY
}
