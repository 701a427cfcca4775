#!/bin/bash
# gcc's partial inlining splits trace_event() into an inlined fast path and an outlined
# `trace_event.part.0`. A change in the outlined part patches only that function (it has its
# own ftrace entry); the callers, which only inline the unchanged fast path, stay.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int printk(const char *fmt, ...);
extern int enabled;
extern void do_work(int, int);
static void trace_event(int id, int v)
{
	if (!enabled)
		return;
	printk("event %d: %d\n", id, v);
	do_work(id, v);
	printk("event %d done\n", id);
	do_work(v, id);
	do_work(id * 2, v * 3);
	printk("event %d really done\n", id);
}
int entry_a(int x) { trace_event(1, x); return x; }
int entry_b(int x) { trace_event(2, x); return x + 1; }
int entry_c(int x) { trace_event(3, x); return x + 2; }
C
sed 's/event %d done/event %d finished/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o" -fpartial-inlining
kcc "$t/patched.c" "$t/patched.o" -fpartial-inlining
for o in orig patched; do
	readelf -sW "$t/$o.o" | has ' FUNC .* trace_event\.part\.[0-9]*$' || { echo "gcc made no trace_event.part.N" >&2; exit 77; }
done
part=$(readelf -sW "$t/orig.o" | awk '$4 == "FUNC" && $8 ~ /^trace_event\.part\./ {print $8}')
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = "$part" ]
[ "$(jqr '.changed[0].old_name')" = "$part" ]
jqr '.changed[0].reason.detail' | has 'event %d finished'
out_sym "__kpg_new.vmlinux.$part.0"
for f in entry_a entry_b entry_c; do not out_sym $f; done
# A .part function is a real function: it carries its own ftrace site.
readelf -rW "$t/out.o" | awk '/rela__mcount_loc/{s=1;next} /Relocation section/{s=0} s' | has " $part + 0"
