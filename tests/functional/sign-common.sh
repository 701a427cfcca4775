# Helpers for the sign-*.sh functional tests (sourced after common.sh).
#   make_module OUT.ko            an ELF relocatable with a .modinfo, like a module
#   make_signing_key PREFIX CN    PREFIX.key + PREFIX.crt, as the kernel's default_x509.genkey
#   split_signed KO BODY SIG      the signed bytes and the PKCS#7 message of a signed module
make_module() {
	cat >"$t/module.c" <<'C'
static const char modinfo[] __attribute__((used, section(".modinfo"), aligned(1))) =
	"livepatch=Y\0name=kpg_sign_test\0vermagic=6.1.0 SMP mod_unload modversions ";
int kpg_sign_test_fn(int x) { return x * 3 + 1; }
C
	gcc -c -O2 -o "$1" "$t/module.c"
}

make_signing_key() {
	openssl req -new -x509 -nodes -utf8 -sha256 -days 36500 -batch -newkey rsa:2048 \
		-subj "/O=kpatch-gen test/CN=$2" -addext subjectKeyIdentifier=hash \
		-addext basicConstraints=critical,CA:FALSE -addext keyUsage=digitalSignature \
		-keyout "$1.key" -out "$1.crt" 2>/dev/null
}

split_signed() {
	local ko=$1 size siglen
	size=$(stat -c %s "$ko")
	[ "$(tail -c 28 "$ko")" = "~Module signature appended~" ]
	siglen=$((16#$(tail -c 32 "$ko" | head -c 4 | od -An -tx1 | tr -d ' \n')))
	head -c $((size - 40 - siglen)) "$ko" >"$2"
	tail -c $((siglen + 40)) "$ko" | head -c "$siglen" >"$3"
}
