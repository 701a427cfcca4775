#!/bin/bash
# The signature's digest is the target kernel's CONFIG_MODULE_SIG_HASH when `--config` names
# the kernel's .config (Debian: sha256; a kernel built with MODULE_SIG_SHA512: sha512), and
# sha256 when the config does not sign modules.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/sign-common.sh"
make_module "$t/m.ko"
make_signing_key "$t/a" a
printf 'CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_SHA512=y\nCONFIG_MODULE_SIG_HASH="sha512"\n' >"$t/config-512"
printf '# CONFIG_MODULE_SIG is not set\n' >"$t/config-none"
"$KPATCH_GEN" sign "$t/m.ko" --key "$t/a.key" --cert "$t/a.crt" --config "$t/config-512" -o "$t/512.ko" --json >"$t/512.json"
[ "$(jq -r .signature.hash "$t/512.json")" = sha512 ]
split_signed "$t/512.ko" "$t/body" "$t/sig.p7s"
openssl cms -cmsout -print -inform DER -in "$t/sig.p7s" | has "algorithm: sha512"
"$KPATCH_GEN" sign "$t/m.ko" --key "$t/a.key" --cert "$t/a.crt" --config "$t/config-none" -o "$t/none.ko" --json >"$t/none.json"
[ "$(jq -r .signature.hash "$t/none.json")" = sha256 ]
