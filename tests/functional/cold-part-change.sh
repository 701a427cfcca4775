#!/bin/bash
# A change in the unlikely path that gcc moved to `handler.cold` (.text.unlikely.handler)
# patches `handler`: the cold part has no ftrace entry and is only jumped to, so it is carried
# along with its parent, and the jumps between the two copies are relocations against each
# other (never back to the running kernel's code).
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
extern void __attribute__((cold)) report_failure(const char *what, int v);
extern int compute(int);
int handler(int x)
{
	int r = compute(x);
	if (__builtin_expect(r < 0, 0)) {
		report_failure("handler failed", r);
		printk("handler: error %d on %d\n", r, x);
		return r * 2;
	}
	return r + x;
}
int neighbour(int x) { return compute(x) + 1; }
C
sed 's/handler: error %d on %d/handler: failure %d for input %d/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
readelf -sW "$t/orig.o" | has ' FUNC .* handler\.cold$' || { echo "gcc made no handler.cold" >&2; exit 77; }
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
# Only handler is patched; its reason is the changed child.
[ "$(changed)" = handler ]
[ "$(jqr '.changed[] | select(.name == "handler") | .reason.kind')" = child ]
jqr '.changed[] | select(.name == "handler") | .reason.detail' | has 'handler.cold changed'
[ "$(jqr '.changed[] | select(.name == "handler.cold") | .type')" = "cold part" ]
[ "$(jqr '.included[] | select(.symbol == "handler.cold") | .kind')" = "cold part" ]
out_sym handler.cold
not out_sym __kpg_new.vmlinux.handler.cold.0
not out_sym neighbour
# The copies reach each other: handler -> handler.cold and handler.cold -> back into handler.
readelf -rW "$t/out.o" > "$t/rel"
awk '/\.rela\.text\.handler/{s=1;next} /Relocation section/{s=0} s' "$t/rel" | has 'R_X86_64_PC32 .* handler\.cold - 4$'
awk '/\.rela\.text\.unlikely\.handler/{s=1;next} /Relocation section/{s=0} s' "$t/rel" | has 'R_X86_64_PC32 .* handler + [0-9a-f]*$'
[ "$(jqr '.relocations.klp | length')" = 0 ]
