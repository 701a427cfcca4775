#!/bin/bash
# KPATCH_STATIC_CALL(name)(args) (kpatch-macros.h) calls the static call key's current function
# through a pointer: the patched code reads the key and never calls the trampoline, so it has
# no call site to register (none in .static_call_sites).
. "$(dirname "$0")/kpatch-common.sh"
cat > "$t/kinc/static_call.h" <<'C'
/* 6.1's DECLARE_STATIC_CALL(), reduced: the key and the trampoline. */
struct static_call_key { void *func; void *mods; };
#define STATIC_CALL_KEY(name) __SCK__##name
#define STATIC_CALL_TRAMP(name) __SCT__##name
#define DECLARE_STATIC_CALL(name, func) \
	extern struct static_call_key STATIC_CALL_KEY(name); extern __typeof__(func) STATIC_CALL_TRAMP(name)
#define static_call(name) (STATIC_CALL_TRAMP(name))
int pick_default(int);
DECLARE_STATIC_CALL(pick, pick_default);
C
cat > "$t/orig.c" <<'C'
#include "kpatch-macros.h"
#include "static_call.h"
int choose(int x) { return static_call(pick)(x); }
C
cat > "$t/patched.c" <<'C'
#include "kpatch-macros.h"
#include "static_call.h"
int choose(int x) { return KPATCH_STATIC_CALL(pick)(x + 1); }
C
kpatch_pair "$t/orig.c" "$t/patched.c"
kdiff "$t/orig.o" "$t/patched.o" --target "$t/orig.o"
expect_rc 0
[ "$(changed)" = choose ]
readelf -rW "$t/out.o" > "$t/relocs"
grep -q '__SCK__pick' "$t/relocs"
not grep -q '__SCT__pick' "$t/relocs"
