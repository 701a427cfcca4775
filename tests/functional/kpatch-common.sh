# Sourced by the kpatch-*.sh tests: the kpatch compatibility header of templates/include,
# compiled against the few kernel declarations it needs ($t/kinc/linux/*.h), so that each test
# exercises the real kpatch-macros.h / kpatch-gen.h.
# shellcheck shell=bash
. "$(dirname "$0")/common.sh"
TEMPLATE_INCLUDE=$(cd "$(dirname "$0")/../../templates/include" && pwd)
mkdir -p "$t/kinc/linux"
cat > "$t/kinc/linux/compiler.h" <<'C'
#define __used __attribute__((__used__))
#define __section(s) __attribute__((__section__(s)))
#define ___PASTE(a, b) a##b
#define __PASTE(a, b) ___PASTE(a, b)
#define __UNIQUE_ID(prefix) __PASTE(__PASTE(__UNIQUE_ID_, prefix), __COUNTER__)
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
C
echo 'extern volatile unsigned long jiffies;' > "$t/kinc/linux/jiffies.h"
printf '%s\n' 'int printk(const char *fmt, ...);' 'int printk_deferred(const char *fmt, ...);' > "$t/kinc/linux/printk.h"
echo 'struct klp_object;' > "$t/kinc/linux/livepatch.h"
# kcc_pair with the compatibility headers on the include path.
kpatch_pair() { kcc_pair "$1" "$2" -I"$TEMPLATE_INCLUDE" -I"$t/kinc"; }
