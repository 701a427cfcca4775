#!/bin/bash
# Lines inserted above, plus a real change of a constant: only the function whose constant
# changed is patched. The constant is an immediate like __LINE__, but it is not a line
# number (the line table says otherwise, and it is not passed to a function that takes one),
# so it is never explained away; the functions whose only difference is a __LINE__ stay out.
. "$(dirname "$0")/common.sh"
cat > "$t/unit.c" <<'C'
extern int printk(const char *fmt, ...);
extern void __might_sleep(const char *file, int line);
#define might_sleep() __might_sleep(__FILE__, __LINE__)
/*INSERT*/
int sleepy(int x)
{
	might_sleep();
	printk("sleepy %d\n", x);
	return x * 2;
}
int limit(int x)
{
	might_sleep();
	printk("limit %d\n", 13);
	return x > 13 ? 13 : x;
}
C
mkdir -p "$t/o" "$t/p"
cp "$t/unit.c" "$t/o/unit.c"
awk '{print} /\/\*INSERT\*\//{print "\n\n"}' "$t/unit.c" | sed 's/13/14/g' > "$t/p/unit.c"
for g in -g -g0; do
	(cd "$t/o" && kcc unit.c unit$g.o $g)
	(cd "$t/p" && kcc unit.c unit$g.o $g)
	kdiff "$t/o/unit$g.o" "$t/p/unit$g.o" --target "$t/o/unit$g.o"
	expect_rc 0
	[ "$(changed)" = limit ]
	[ "$(jqr '.changed[0].reason.kind')" = immediate ]
	[ "$(jqr '.line_only[].name')" = sleepy ]
	not out_sym sleepy
done
