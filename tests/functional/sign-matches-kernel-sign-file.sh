#!/bin/bash
# `kpatch-gen sign` writes the same bytes as the kernel's own scripts/sign-file (compiled
# here from the kernel source) for the same module and RSA key: with sha256 and sha512, and
# with the key and certificate in one PEM file as the kernel's certs/signing_key.pem.
# Skips (77) only when no Linux 6.1 source is available (linux-source-6.1).
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/sign-common.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
tarball=${KPG_LAB_SOURCE:-/usr/src/linux-source-6.1.tar.xz}

# The lab kernel's extracted tree when there is one (CI builds it first), else the two files
# from the tarball (reading through it takes a while, but only here).
scripts=""
if lab=$("$repo/ci/lab/lab.sh" kernel --print-dir 2>/dev/null) && [ -f "$lab/src/scripts/sign-file.c" ]; then
	scripts="$lab/src/scripts"
elif [ -r "$tarball" ]; then
	mkdir -p "$t/ksrc"
	tar -xJf "$tarball" -C "$t/ksrc" --wildcards --no-anchored --strip-components=1 \
		'scripts/sign-file.c' 'scripts/ssl-common.h'
	scripts="$t/ksrc/scripts"
else
	echo "skipped: no Linux source (apt-get install linux-source-6.1)" >&2
	exit 77
fi
gcc -O2 -w -o "$t/sign-file" "$scripts/sign-file.c" -lcrypto

make_module "$t/m.ko"
make_signing_key "$t/k" "kpatch-gen sign-file comparison"
for hash in sha256 sha512; do
	"$t/sign-file" "$hash" "$t/k.key" "$t/k.crt" "$t/m.ko" "$t/kernel-$hash.ko"
	"$KPATCH_GEN" sign "$t/m.ko" --key "$t/k.key" --cert "$t/k.crt" --hash "$hash" -o "$t/ours-$hash.ko"
	cmp "$t/kernel-$hash.ko" "$t/ours-$hash.ko"
done
# Different digests give different signatures (the comparison above is not vacuous).
not cmp -s "$t/ours-sha256.ko" "$t/ours-sha512.ko"

cat "$t/k.key" "$t/k.crt" >"$t/signing_key.pem"
"$t/sign-file" sha256 "$t/signing_key.pem" "$t/signing_key.pem" "$t/m.ko" "$t/kernel-pem.ko"
"$KPATCH_GEN" sign "$t/m.ko" --key "$t/signing_key.pem" -o "$t/ours-pem.ko"
cmp "$t/kernel-pem.ko" "$t/ours-pem.ko"
