#!/bin/bash
# A change inside a static inline helper changes every caller it was inlined into (and
# nothing else); with DWARF the report explains each as "inlined callee X changed" and says
# where it was inlined. Without debug info the same functions change, explained by the first
# differing instruction.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
static inline int check_len(unsigned long len)
{
	if (len > 4096) {
		printk("length %lu too big\n", len);
		return -22;
	}
	return 0;
}
int do_read(unsigned long len, int flags) { int r = check_len(len); if (r) return r; printk("read %d\n", flags); return flags; }
int do_write(unsigned long len) { int r = check_len(len + 8); if (r) return r; printk("write\n"); return 1; }
int bystander(int x) { return x - 1; }
C
sed 's/length %lu too big/length %lu exceeds the limit/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
# The helper really was inlined: no out-of-line copy.
readelf -sW "$t/orig.o" | not grep -q ' check_len'
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed | sort | tr '\n' ' ')" = "do_read do_write " ]
for f in do_read do_write; do
	[ "$(jqr ".changed[] | select(.name == \"$f\") | .reason.summary")" = "inlined callee check_len changed" ]
	[ "$(jqr ".changed[] | select(.name == \"$f\") | .reason.inlined_callee")" = check_len ]
done
[[ "$(jqr '.changed[] | select(.name == "do_read") | .reason.inlined_at')" == */patched.c:10 ]]
[[ "$(jqr '.changed[] | select(.name == "do_write") | .reason.inlined_at')" == */patched.c:11 ]]
"$KPATCH_GEN" diff "$t/orig.o" "$t/patched.o" -o "$t/out.o" | tee "$t/stdout"
grep -qx "$t/patched.o: changed do_read: inlined callee check_len changed" "$t/stdout"
# No DWARF: same decision, plainer explanation.
kcc "$t/orig.c" "$t/orig0.o" -g0
kcc "$t/patched.c" "$t/patched0.o" -g0
kdiff "$t/orig0.o" "$t/patched0.o" --target "$t/orig0.o"
expect_rc 0
[ "$(changed | sort | tr '\n' ' ')" = "do_read do_write " ]
[ "$(jqr '[.changed[].reason | select(.inlined_callee != null)] | length')" = 0 ]
jqr '.changed[].reason.summary' | has '^first differing instruction at +0x'
