#!/bin/bash
# The original passes a struct by value to sum_req, which gcc turned into sum_req.isra.0
# (only the used fields are passed). The patch takes the struct's address, so the clone is
# gone: the caller changes to call a plain, new sum_req (included), and the running kernel's
# sum_req.isra.0 is simply no longer called by the patched code. And the reverse patch: the
# clone appears.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
extern void note_req(const void *r);
struct req { long a, b, c, d, e, f; };
static __attribute__((noinline)) long sum_req(struct req r)
{
	printk("req %ld\n", r.a);
	return r.a + r.b;
}
long use_req(struct req *r) { return sum_req(*r) + sum_req(r[1]); }
long other(struct req *r) { return r->c; }
C
sed 's/printk("req %ld\\n", r.a);/printk("req %ld\\n", r.a); note_req(\&r);/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
readelf -sW "$t/orig.o" | has ' FUNC .* sum_req\.isra\.[0-9]*$' || { echo "gcc made no sum_req.isra.N" >&2; exit 77; }
readelf -sW "$t/patched.o" | has ' FUNC .* sum_req$'
isra=$(readelf -sW "$t/orig.o" | awk '$4 == "FUNC" && $8 ~ /^sum_req\.isra/ {print $8}')
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = use_req ]
[ "$(jqr '.included[] | select(.kind == "new function") | .symbol')" = sum_req ]
out_sym sum_req
not out_sym "$isra"
[ "$(jqr '.relocations.klp | length')" = 0 ]
# The report says the clone is gone from the patched object (it stays in the kernel, unused).
[ "$(jqr '.removed[] | "\(.type) \(.name)"')" = "function $isra" ]
# Reverse direction: the clone is the new function.
kdiff "$t/patched.o" "$t/orig.o" --target "$t/patched.o"
expect_rc 0
[ "$(changed)" = use_req ]
[ "$(jqr '.included[] | select(.kind == "new function") | .symbol')" = "$isra" ]
out_sym "$isra"
not out_sym sum_req
[ "$(jqr '.removed[] | "\(.type) \(.name)"')" = "function sum_req" ]
