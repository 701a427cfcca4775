/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpatch-macros.h - the patch-author macros of kpatch, for patch collections written for it.
 *
 * kpatch-gen puts this file on the include path of the patched build next to kpatch-gen.h, so
 * a patch that says `#include "kpatch-macros.h"` builds unchanged. Written for kpatch-gen from
 * the macros' documented behaviour; each one maps onto kpatch-gen's own mechanism:
 *
 *   KPATCH_PRE_PATCH_CALLBACK(fn)      KPG_PRE_PATCH_CALLBACK(fn): per-object livepatch
 *   KPATCH_POST_PATCH_CALLBACK(fn)     callbacks (kpatch-gen.h), `fn` takes a
 *   KPATCH_PRE_UNPATCH_CALLBACK(fn)    `patch_object *` (= struct klp_object *); a nonzero
 *   KPATCH_POST_UNPATCH_CALLBACK(fn)   pre_patch return refuses the patch
 *   KPATCH_IGNORE_FUNCTION(fn)         the diff treats fn as unchanged (it is not patched),
 *                                      e.g. a function whose only change is a __LINE__ value
 *   KPATCH_IGNORE_SECTION("name")      the diff treats the functions and data of section
 *                                      `name` as unchanged and drops a table of that name
 *                                      instead of refusing it
 *   KPATCH_PRINTK(fmt, ...)            printk() behind a condition the compiler cannot
 *   KPATCH_PRINTK_DEFERRED(fmt, ...)   decide (below)
 *   KPATCH_STATIC_CALL(name)           an indirect call through the static call key's
 *                                      current target (below)
 *   KPATCH_FORCE_UNSAFE(fn)            REFUSED by the diff (FORCE_UNSAFE): kpatch's old
 *                                      core module skipped its stack check for fn; the
 *                                      kernel's livepatch consistency model has no such
 *                                      override, and pretending would be a lie
 *
 * System calls: kpatch-syscall.h (KPATCH_SYSCALL_DEFINE0..6). Shadow variables: patches for
 * kpatch's livepatch mode already call the kernel's klp_shadow_*() API (<linux/livepatch.h>,
 * included here); nothing to map.
 */
#ifndef _KPATCH_GEN_KPATCH_MACROS_H
#define _KPATCH_GEN_KPATCH_MACROS_H

#include <linux/compiler.h>
#include <linux/jiffies.h>
#include <linux/printk.h>

#include "kpatch-gen.h"

/* kpatch's name for the object a callback runs for. */
typedef struct klp_object patch_object;

#define KPATCH_PRE_PATCH_CALLBACK(fn) KPG_PRE_PATCH_CALLBACK(fn)
#define KPATCH_POST_PATCH_CALLBACK(fn) KPG_POST_PATCH_CALLBACK(fn)
#define KPATCH_PRE_UNPATCH_CALLBACK(fn) KPG_PRE_UNPATCH_CALLBACK(fn)
#define KPATCH_POST_UNPATCH_CALLBACK(fn) KPG_POST_UNPATCH_CALLBACK(fn)

/*
 * Markers the diff reads and never copies into the module: a pointer to the function, or to
 * the section's name, in a .kpatch_gen.* section (like the callbacks).
 */
#define KPATCH_IGNORE_FUNCTION(fn)                                                       \
	static void *__kpg_ignore_function_##fn __used                                 \
		__section(".kpatch_gen.ignore.functions") = (void *)(fn)
#define KPATCH_IGNORE_SECTION(name)                                                      \
	static const char *__UNIQUE_ID(kpg_ignore_section) __used                      \
		__section(".kpatch_gen.ignore.sections") = (name)
#define KPATCH_FORCE_UNSAFE(fn)                                                          \
	static void *__kpg_force_unsafe_##fn __used                                    \
		__section(".kpatch_gen.force_unsafe") = (void *)(fn)

/*
 * printk() is declared __cold, so gcc treats every path that leads to it as unlikely: adding
 * a printk to a patched function can move its surrounding code into .text.unlikely, outline
 * or reorder blocks, and make callers that inline it change as well (a two-line debug message
 * in tcp_ack() turning into a dozen changed functions). A condition gcc cannot fold (jiffies
 * is never 0 after boot) keeps the path's probability as it was.
 */
#define KPATCH_PRINTK(fmt, ...)                                                          \
	({ if (jiffies) printk(fmt, ##__VA_ARGS__); })
#define KPATCH_PRINTK_DEFERRED(fmt, ...)                                                 \
	({ if (jiffies) printk_deferred(fmt, ##__VA_ARGS__); })

/*
 * static_call(name)(args) is a direct call to a trampoline whose call sites are rewritten at
 * run time (.static_call_sites). When the key lives in a module, the patch module's sites
 * would have to be registered against a key that is only resolved once that module loads,
 * which the diff refuses (MODULE_KEY_IN_SPECIAL_ENTRY). KPATCH_STATIC_CALL(name)(args) calls
 * the key's current function through a pointer instead: no site to register, same target.
 * Needs <linux/static_call.h> (which any user of static_call() already includes).
 */
#define KPATCH_STATIC_CALL(name)                                                         \
	((__typeof__(STATIC_CALL_TRAMP(name)) *)READ_ONCE(STATIC_CALL_KEY(name).func))

#endif /* _KPATCH_GEN_KPATCH_MACROS_H */
