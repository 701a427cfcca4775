#!/bin/bash
# `kpatch-gen sign` refuses, with exit 1 and nothing written, what would not load: a module
# that is already signed (the kernel reads only the last signature), a key that is not the
# certificate's, a digest the kernel cannot use, a file that is not an ELF relocatable; and
# exits 2 for command-line mistakes. In-place signing keeps the file's mode; -o leaves the
# input alone.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/sign-common.sh"
make_module "$t/m.ko"
make_signing_key "$t/a" a
make_signing_key "$t/b" b
cp "$t/m.ko" "$t/orig.ko"

r=0; "$KPATCH_GEN" sign "$t/m.ko" --cert "$t/a.crt" 2>"$t/err" || r=$?
[ "$r" = 2 ]
grep -q -- '--key' "$t/err"
r=0; "$KPATCH_GEN" sign "$t/m.ko" --key "$t/a.key" --hash sha256 --config "$t/a.crt" 2>"$t/err" || r=$?
[ "$r" = 2 ]

r=0; "$KPATCH_GEN" sign "$t/m.ko" --key "$t/a.key" --cert "$t/b.crt" 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q "does not belong to the certificate" "$t/err"
cmp "$t/m.ko" "$t/orig.ko"

r=0; "$KPATCH_GEN" sign "$t/m.ko" --key "$t/a.key" --cert "$t/a.crt" --hash md5 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q "not a module signature digest" "$t/err"
cmp "$t/m.ko" "$t/orig.ko"

echo "not a module" >"$t/text.ko"
r=0; "$KPATCH_GEN" sign "$t/text.ko" --key "$t/a.key" --cert "$t/a.crt" 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q "not an ELF relocatable object" "$t/err"

# -o: the input stays as it was.
"$KPATCH_GEN" sign "$t/m.ko" --key "$t/a.key" --cert "$t/a.crt" -o "$t/signed.ko" -q
cmp "$t/m.ko" "$t/orig.ko"
r=0; "$KPATCH_GEN" sign "$t/signed.ko" --key "$t/b.key" --cert "$t/b.crt" 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q "already carries a module signature" "$t/err"

# In place, atomically, keeping the mode.
chmod 0600 "$t/m.ko"
"$KPATCH_GEN" sign "$t/m.ko" --key "$t/a.key" --cert "$t/a.crt" -q
[ "$(stat -c %a "$t/m.ko")" = 600 ]
cmp "$t/m.ko" "$t/signed.ko"
