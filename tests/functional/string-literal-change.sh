#!/bin/bash
# A changed string literal changes the function that prints it, and only that function;
# the new string is carried in the output, the unchanged callee stays a reference.
. "$(dirname "$0")/common.sh"
cat > "$t/orig.c" <<'C'
extern int seq_printf(void *m, const char *fmt, ...);
extern char *saved_command_line;
int cmdline_proc_show(void *m, void *v) { seq_printf(m, "%s\n", saved_command_line); return 0; }
int version_proc_show(void *m, void *v) { seq_printf(m, "version\n"); return 0; }
C
sed 's/"%s\\n"/"%s patched\\n"/' "$t/orig.c" > "$t/patched.c"
kcc "$t/orig.c" "$t/orig.o"
kcc "$t/patched.c" "$t/patched.o"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = cmdline_proc_show ]
jqr '.changed[0].reason.detail' | has 'patched'
strings "$t/out.o" | has '%s patched'
out_sym cmdline_proc_show
not out_sym version_proc_show
