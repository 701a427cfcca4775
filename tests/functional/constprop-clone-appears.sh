#!/bin/bash
# The patch makes every caller pass a constant, so gcc starts cloning: scale.constprop.0 and
# sum_req.constprop.0 appear. They are not twins of scale/sum_req (another calling
# convention), so the callers change and the clones are new functions carried in the output;
# the original scale/sum_req stay in the kernel, untouched and unreferenced by the patch.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
struct req { int a, b, c, d; };
static __attribute__((noinline)) int scale(int x, int factor)
{
	printk("scale %d by %d\n", x, factor);
	return x * factor + 1;
}
int use_scale(int x, int f) { return scale(x, f) + scale(x + 1, f); }
static __attribute__((noinline)) int sum_req(struct req *r, int verbose)
{
	if (verbose) printk("req %d\n", r->a);
	return r->a + r->b;
}
int use_req(struct req *r, int v) { return sum_req(r, v) + sum_req(r + 1, v); }
int bystander(int x) { return x; }
C
sed -e 's/scale(x, f) + scale(x + 1, f)/scale(x, 3) + scale(x + 1, 3)/' \
    -e 's/sum_req(r, v) + sum_req(r + 1, v)/sum_req(r, 0) + sum_req(r + 1, 0)/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
clones=$(readelf -sW "$t/patched.o" | awk '$4 == "FUNC" && $8 ~ /\.constprop\./ {print $8}' | sort)
[ "$(echo "$clones" | wc -w)" = 2 ] || { echo "gcc did not clone scale and sum_req" >&2; exit 77; }
readelf -sW "$t/orig.o" | awk '$4 == "FUNC" {print $8}' | not grep -q constprop
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed | sort | tr '\n' ' ')" = "use_req use_scale " ]
[ "$(jqr '.included[] | select(.kind == "new function") | .symbol' | sort)" = "$clones" ]
for c in $clones; do out_sym "$c"; not out_sym "__kpg_new.vmlinux.$c.0"; done
# The old functions are neither copied nor referenced.
not out_sym scale
not out_sym sum_req
[ "$(jqr '.relocations.klp | length')" = 0 ]
not out_sym bystander
