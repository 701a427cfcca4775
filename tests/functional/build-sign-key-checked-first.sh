#!/bin/bash
# `kpatch-gen build --sign-key` reads and checks the key before anything is compiled: a key
# that is not the certificate's is one of the "cannot start" problems (exit 1), reported
# together with the other input problems; --sign-cert without --sign-key is a usage error.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/sign-common.sh"
make_signing_key "$t/a" a
make_signing_key "$t/b" b
mkdir -p "$t/src"
printf -- '--- a/fs/x.c\n+++ b/fs/x.c\n@@ -1 +1 @@\n-a\n+b\n' >"$t/fix.patch"
make_module "$t/vmlinux"
r=0; "$KPATCH_GEN" build "$t/fix.patch" --kernel-src "$t/src" --target-vmlinux "$t/vmlinux" \
	--sign-key "$t/a.key" --sign-cert "$t/b.crt" -o "$t/out" -q 2>"$t/err" || r=$?
[ "$r" = 1 ]
grep -q "cannot start" "$t/err"
grep -q "does not belong to the certificate" "$t/err"
grep -q "no Module.symvers" "$t/err" # the other problems are still listed
[ ! -e "$t/out" ]
r=0; "$KPATCH_GEN" build "$t/fix.patch" --kernel-src "$t/src" --target-vmlinux "$t/vmlinux" \
	--sign-cert "$t/a.crt" 2>"$t/err" || r=$?
[ "$r" = 2 ]
grep -q -- "--sign-key" "$t/err"
