#!/bin/bash
# `kpatch-gen sign` appends what the kernel reads: the module bytes unchanged, a detached
# PKCS#7 message that OpenSSL's own `cms -verify` accepts over exactly those bytes with the
# signer's certificate (and rejects for a changed byte or another certificate), without
# certificates or signed attributes, then struct module_signature and the marker.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/sign-common.sh"
make_module "$t/m.ko"
cp "$t/m.ko" "$t/unsigned.ko"
make_signing_key "$t/a" "signer a"
make_signing_key "$t/b" "signer b"

"$KPATCH_GEN" sign "$t/m.ko" --key "$t/a.key" --cert "$t/a.crt" --json >"$t/sign.json"
split_signed "$t/m.ko" "$t/body" "$t/sig.p7s"
# The module bytes come first, unchanged.
cmp "$t/body" "$t/unsigned.ko"
# The trailer: id_type 2 (PKCS#7), every other field zero, sig_len big-endian.
[ "$(tail -c 40 "$t/m.ko" | head -c 8 | od -An -tx1 | tr -d ' \n')" = 0000020000000000 ]
[ "$(jq -r .signature.size "$t/sign.json")" = "$(stat -c %s "$t/sig.p7s")" ]
[ "$(jq -r .sha256 "$t/sign.json")" = "$(sha256sum <"$t/m.ko" | cut -d' ' -f1)" ]
[ "$(jq -r .signature.unsigned_sha256 "$t/sign.json")" = "$(sha256sum <"$t/unsigned.ko" | cut -d' ' -f1)" ]
[ "$(jq -r .signature.hash "$t/sign.json")" = sha256 ]
jq -r .signature.signer.subject "$t/sign.json" | has_line "O = kpatch-gen test, CN = signer a"

# OpenSSL verifies the detached message over the module bytes with the certificate alone
# (-nointern: the message carries no certificates; -noverify: a self-signed trust anchor).
openssl cms -verify -binary -inform DER -in "$t/sig.p7s" -content "$t/body" \
	-certfile "$t/a.crt" -nointern -noverify -out /dev/null 2>"$t/verify.log"
grep -q "Verification successful" "$t/verify.log"
not openssl cms -verify -binary -inform DER -in "$t/sig.p7s" -content "$t/body" \
	-certfile "$t/b.crt" -nointern -noverify -out /dev/null
printf '\x01' | dd of="$t/body" bs=1 seek=100 conv=notrunc status=none
not openssl cms -verify -binary -inform DER -in "$t/sig.p7s" -content "$t/body" \
	-certfile "$t/a.crt" -nointern -noverify -out /dev/null

# What the kernel expects inside (sign-file's CMS flags): detached content, no certificates,
# no signed attributes (no signing time), the signer named by issuer and serial number.
openssl cms -cmsout -print -inform DER -in "$t/sig.p7s" >"$t/print.txt"
absent() { grep -A1 -E "^ *$1:" "$t/print.txt" | has "<ABSENT>"; } # on its line or the next
absent eContent
absent certificates
absent signedAttrs
grep -q "issuerAndSerialNumber" "$t/print.txt"
grep -q "issuer: O=kpatch-gen test, CN=signer a" "$t/print.txt"
grep -q "algorithm: sha256" "$t/print.txt"
