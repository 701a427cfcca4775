#!/bin/bash
# gen-unit.sh N VARIANT: a kernel-like C unit with N functions on stdout. VARIANT "orig" or
# "patched" (function f<N/2> prints another message). Every function has an ftrace entry
# (the kernel flags add -pg -mfentry), a string literal, a call to another function of the
# unit and to an external one; every 10th has a static counter, every 50th a function-scope
# static and a WARN_ON()-style __bug_table entry.
set -eu
n=$1 variant=$2
awk -v n="$n" -v variant="$variant" 'BEGIN {
	print "extern int printk(const char *fmt, ...);"
	print "extern void __might_sleep(const char *file, int line);"
	print "#define WARN_ON(c) ({ int __r = !!(c); if (__r) asm volatile(\"1: ud2\\n.pushsection __bug_table,\\\"aw\\\"\\n2: .long 1b - .\\n .long %c0 - .\\n .word %c1, 1\\n .org 2b+12\\n.popsection\\n\" :: \"i\"(__FILE__), \"i\"(__LINE__ & 0xffff)); __r; })"
	for (i = 0; i < n; i++) printf "int f%d(int x);\n", i
	for (i = 0; i < n; i += 10) printf "static int counter%d;\n", i
	changed = int(n / 2)
	for (i = 0; i < n; i++) {
		callee = (i * 7 + 1) % n
		printf "__attribute__((noinline)) int f%d(int x)\n{\n", i
		if (i % 10 == 0) printf "\tcounter%d += x;\n", i
		if (i % 50 == 0) printf "\tstatic int calls;\n\tcalls++;\n\tif (WARN_ON(x == %d)) return calls;\n", i
		msg = (variant == "patched" && i == changed) ? "is out of range" : "too large"
		printf "\tif (x > %d) {\n\t\tprintk(\"f%d: value %%d %s\\n\", x);\n\t\treturn -22;\n\t}\n", i % 1000, i, msg
		if (i % 25 == 0) printf "\t__might_sleep(__FILE__, __LINE__);\n"
		printf "\treturn x > 0 ? f%d(x - 1) + %d : %d;\n}\n", callee, i % 13, i % 7
	}
}'
