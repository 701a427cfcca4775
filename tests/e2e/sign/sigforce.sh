#!/bin/bash
# e2e: module signatures on a kernel that enforces them (the lab variant sigforce). Builds
# examples/cmdline-string with `kpatch-gen build --sign-key/--sign-cert` (the variant's
# trusted test key), derives from it an unsigned copy (the bytes the signature covers), a
# tampered copy (one byte of the module changed, signature kept) and a copy signed by a key
# the kernel does not know, and boots the variant: the kernel refuses the three (busybox
# insmod, with the kernel's own log lines), kpatch-load refuses or explains each, and the
# signed module loads, patches and unloads.
# SPDX-License-Identifier: GPL-2.0-only
set -euo pipefail
KPG_PROG=sign.sigforce
# shellcheck source-path=SCRIPTDIR source=../builder/lib.sh
. "$(dirname "$0")/../builder/lib.sh"
need_kpatch_gen
need_kpatch_load
need_tool openssl
SIG=$("$LAB_DIR/lab.sh" kernel --variant sigforce --print-dir) ||
	die "$EXIT_MISSING" "the sigforce lab kernel is not built; run ci/lab/lab.sh kernel --variant sigforce (CTest: lab.kernel-sigforce)"
keys="$SIG/keys"
make_work_dir sigforce
here=$(cd "$(dirname "$0")" && pwd)
name=livepatch_cmdline_string

t0=$(now_ms)
rc=0
"$KPG_KPATCH_GEN" build "$EXAMPLES/cmdline-string/cmdline-string.patch" --kernel-src "$SIG/src" \
	--target-vmlinux "$SIG/build/vmlinux" --target-modules "$SIG/modules" \
	--sign-key "$keys/trusted.key" --sign-cert "$keys/trusted.crt" -o "$WORK/signed" --json \
	>"$WORK/build.json" 2>"$WORK/build.log" || rc=$?
if [ "$rc" != 0 ]; then
	show_log "$WORK/build.log"
	die "$EXIT_FAIL" "kpatch-gen build --sign-key failed (exit $rc); log: $WORK/build.log"
fi
log "built and signed $name.ko in $(elapsed "$t0" "$(now_ms)") s"
ko="$WORK/signed/$name.ko"
report="$WORK/signed/$name.json"

# The report records the signer and the digest of the target's CONFIG_MODULE_SIG_HASH, and
# its sha256 is the signed file's.
fail=0
check() { # check WHAT CMD...: host-side checks, all reported before stopping
	local what=$1
	shift
	if "$@" 2>"$WORK/check.err"; then log "ok: $what"; else log "FAIL: $what: $(head -n 3 "$WORK/check.err")"; fail=1; fi
}
not_() { ! "$@"; }
check_eq() { # check_eq WHAT GOT WANT
	if [ "$2" = "$3" ]; then log "ok: $1"; else log "FAIL: $1: got '$2', want '$3'"; fail=1; fi
}
check_eq "report: digest from CONFIG_MODULE_SIG_HASH" "$(json_get "$report" .signature.hash)" \
	"$(sed -n 's/^CONFIG_MODULE_SIG_HASH="\(.*\)"/\1/p' "$SIG/build/.config")"
check_eq "report: signer" "$(json_get "$report" .signature.signer.subject)" \
	"O = kpatch-gen lab, CN = kpatch-gen lab test key (trusted)"
check_eq "report: sha256 of the signed file" "$(json_get "$report" .sha256)" "$(sha256sum <"$ko" | cut -d' ' -f1)"
check_eq "inspect: the signature's digest" "$("$KPG_KPATCH_GEN" inspect "$ko" --json | jq -r .signature.hash)" sha256

# The three bad copies.
size=$(stat -c %s "$ko")
sig_size=$(json_get "$report" .signature.size)
head -c $((size - sig_size - 40)) "$ko" >"$WORK/unsigned.ko"
check_eq "report: unsigned_sha256 is the signed bytes" "$(sha256sum <"$WORK/unsigned.ko" | cut -d' ' -f1)" \
	"$(json_get "$report" .signature.unsigned_sha256)"
cp "$ko" "$WORK/tampered.ko"
off=$(grep -obUa 'kpatch-gen-module/1' "$WORK/tampered.ko" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || die "$EXIT_FAIL" "no manifest string in $ko to tamper with"
printf 'K' | dd of="$WORK/tampered.ko" bs=1 seek="$off" conv=notrunc status=none
"$KPG_KPATCH_GEN" sign "$WORK/unsigned.ko" --key "$keys/untrusted.key" --cert "$keys/untrusted.crt" \
	-o "$WORK/untrusted.ko" -q
# OpenSSL's view of the same three (the kernel's follows in the guest).
sp=$(mktemp -d "$WORK/split.XXXXXX")
tail -c $((sig_size + 40)) "$ko" | head -c "$sig_size" >"$sp/sig.p7s"
check "openssl cms -verify accepts the built module's signature" \
	openssl cms -verify -binary -inform DER -in "$sp/sig.p7s" -content "$WORK/unsigned.ko" \
	-certfile "$keys/trusted.crt" -nointern -noverify -out /dev/null
check "openssl cms -verify rejects it for the tampered bytes" \
	not_ openssl cms -verify -binary -inform DER -in "$sp/sig.p7s" -content <(head -c $((size - sig_size - 40)) "$WORK/tampered.ko") \
	-certfile "$keys/trusted.crt" -nointern -noverify -out /dev/null
[ "$fail" = 0 ] || die "$EXIT_FAIL" "host-side checks failed"

rc=0
"$LAB_DIR/lab.sh" run "$here/sigforce.scenario" --variant sigforce --timeout 300 --log "$WORK/console.log" \
	--add "$KPG_KPATCH_LOAD:/kpg/add/kpatch-load" \
	--add "$ko:/kpg/add/signed.ko" --add "$WORK/unsigned.ko:/kpg/add/unsigned.ko" \
	--add "$WORK/tampered.ko:/kpg/add/tampered.ko" --add "$WORK/untrusted.ko:/kpg/add/untrusted.ko" || rc=$?
[ "$rc" = 0 ] || die "$rc" "the guest checks failed; console: $WORK/console.log"
log "PASS in $(elapsed "$t0" "$(now_ms)") s"
