#!/bin/bash
# `kpatch-gen repo add` refuses what would break a machine or the repository, each with its
# reason and exit 1, and publishes nothing: a report of another build (sha256), a module that
# is not replace-mode (levels replace each other), a second level with the same module name
# (the kernel cannot load it while the first is live), the same module twice, a bad channel.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/lib/repo.sh"
"$KPATCH_GEN" repo init "$t/repo" >/dev/null
fake_module "$t/m" lp_one
"$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_one.ko" >/dev/null
before=$(sha256sum "$t/repo/metadata/timestamp.json")
refused() { # refused PATTERN ARGS...: repo add fails with exit 1 and PATTERN on stderr
	local pat=$1 r=0
	shift
	"$KPATCH_GEN" repo add "$t/repo" "$@" 2>"$t/err" || r=$?
	[ "$r" = 1 ] || { cat "$t/err"; return 1; }
	grep -q -- "$pat" "$t/err" || { cat "$t/err"; return 1; }
}
fake_module "$t/m" lp_sha
echo tampered >>"$t/m/lp_sha.ko"
refused "is not the .* its report records" "$t/m/lp_sha.ko"
fake_module "$t/m" lp_stack
jq '.replace = false' "$t/m/lp_stack.json" >"$t/m/x" && mv "$t/m/x" "$t/m/lp_stack.json"
refused "not a replace-mode (cumulative) patch" "$t/m/lp_stack.ko"
mkdir -p "$t/same"
fake_module "$t/same" lp_one
refused "already module lp_one; each level needs its own module name (kpatch-gen build --name lp_one_2)" "$t/same/lp_one.ko"
refused "already published as level 1" "$t/m/lp_one.ko"
fake_module "$t/m" lp_chan
r=0; "$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_chan.ko" --channel Prod 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q '"Prod" is not a channel name' "$t/err"
r=0; "$KPATCH_GEN" repo add "$t/repo" "$t/m/lp_chan.ko" --cve CVE-2026-1:99 2>"$t/err" || r=$?
[ "$r" = 2 ]
[ "$(sha256sum "$t/repo/metadata/timestamp.json")" = "$before" ]
