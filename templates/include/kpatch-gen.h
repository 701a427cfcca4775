/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpatch-gen.h - helpers for authors of live patches built with kpatch-gen.
 *
 * kpatch-gen puts this directory on the include path of the patched build, so a patch can
 * say `#include "kpatch-gen.h"` next to the code it changes.
 *
 * CALLBACKS
 *
 * A live patch replaces functions; it cannot rerun __init code or rewrite data that already
 * exists. Callbacks fill that gap. They are per object: a callback declared in a file that
 * belongs to vmlinux runs for vmlinux, one declared in a module's file runs when that module
 * is (or becomes) present. Signatures:
 *
 *     static int  my_pre_patch(struct klp_object *obj);    nonzero return refuses the patch
 *                                                          (or the module's load)
 *     static void my_post_patch(struct klp_object *obj);   after the transition completed
 *     static void my_pre_unpatch(struct klp_object *obj);  before unpatching starts
 *     static void my_post_unpatch(struct klp_object *obj); after unpatching completed
 *
 *     KPG_PRE_PATCH_CALLBACK(my_pre_patch);
 *     KPG_POST_PATCH_CALLBACK(my_post_patch);
 *     KPG_PRE_UNPATCH_CALLBACK(my_pre_unpatch);
 *     KPG_POST_UNPATCH_CALLBACK(my_post_unpatch);
 *
 * At most one callback of each kind per object. post_unpatch runs only if pre_patch
 * succeeded; pre_unpatch only if post_patch ran. With atomic replace (the default), only the
 * new cumulative patch's callbacks run when it replaces an older one: make them idempotent.
 * Callbacks may sleep and take mutexes. See Documentation/livepatch/callbacks.rst.
 *
 * SHADOW VARIABLES
 *
 * To add a field to an existing structure, attach a shadow variable to each instance with the
 * kernel's API from <linux/livepatch.h> (Documentation/livepatch/shadow-vars.rst):
 *
 *     #define KPG_SV_NEWPID 1   (an id unique to your patch series)
 *     int *v = klp_shadow_alloc(task, KPG_SV_NEWPID, sizeof(*v), GFP_KERNEL, NULL, NULL);
 *     v = klp_shadow_get(task, KPG_SV_NEWPID);        NULL for objects created before the patch
 *     klp_shadow_free(task, KPG_SV_NEWPID, NULL);     where the parent object is freed
 *
 * Objects that existed before the patch have no shadow: code must handle NULL. Free every
 * shadow of your id in a post_unpatch callback (klp_shadow_free_all()), not in module exit:
 * with atomic replace a newer patch may keep using them, so a replacing patch must use the
 * same ids.
 *
 * SYSTEM CALLS
 *
 * SYSCALL_DEFINEn() puts the body into a `static inline` __do_sys_<name>(), and the kernel's
 * `inline` implies notrace: when gcc emits it out of line, a changed body is refused
 * (NO_FENTRY). Write the patched syscall with KPG_SYSCALL_DEFINEn() instead: the same wrappers
 * (__x64_sys_<name>, and __ia32_sys_<name> with IA32_EMULATION, built from the kernel's own
 * macros) around a body under a new name, so the body is a new function and the traceable
 * wrappers are what gets patched:
 *
 *     KPG_SYSCALL_DEFINE1(newuname, struct new_utsname __user *, name)
 *     { ... }
 *
 * WHAT A PATCH CANNOT DO (kpatch-gen refuses these with a reason code)
 *   - change __init code or data (INIT_CHANGED): use a callback to redo its effect;
 *   - change the initial value of existing data (DATA_INIT_CHANGED) or the size/layout of an
 *     existing object or struct (OBJECT_SIZE_CHANGED): use callbacks and shadow variables;
 *   - change a function without an ftrace entry (NO_FENTRY): notrace/noinstr code, or an
 *     `inline` function gcc emitted out of line (mark it __always_inline).
 */
#ifndef _KPATCH_GEN_H
#define _KPATCH_GEN_H

#include <linux/compiler.h>
#include <linux/livepatch.h>

/*
 * Each macro records a pointer to the callback in a section named after its kind; kpatch-gen
 * finds it in the patched object and wires it into the klp_object of that object. The
 * assignments type-check the callback's signature.
 */
#define __KPG_CALLBACK(kind, type, fn)                                                  \
	static __typeof__(type) __kpg_callback_##kind##_##fn __used                    \
		__section(".kpatch_gen.callbacks." #kind) = fn

#define KPG_PRE_PATCH_CALLBACK(fn) __KPG_CALLBACK(pre_patch, int (*)(struct klp_object *), fn)
#define KPG_POST_PATCH_CALLBACK(fn) __KPG_CALLBACK(post_patch, void (*)(struct klp_object *), fn)
#define KPG_PRE_UNPATCH_CALLBACK(fn) __KPG_CALLBACK(pre_unpatch, void (*)(struct klp_object *), fn)
#define KPG_POST_UNPATCH_CALLBACK(fn) __KPG_CALLBACK(post_unpatch, void (*)(struct klp_object *), fn)

#ifdef CONFIG_X86_64
#include <linux/syscalls.h>

#define KPG_SYSCALL_DEFINE0(sname)                                                       \
	static long __kpg_do_sys_##sname(void);                                         \
	__X64_SYS_STUB0(sname)                                                           \
	__IA32_SYS_STUB0(sname)                                                          \
	static long __kpg_do_sys_##sname(void)
#define KPG_SYSCALL_DEFINE1(name, ...) KPG_SYSCALL_DEFINEx(1, _##name, __VA_ARGS__)
#define KPG_SYSCALL_DEFINE2(name, ...) KPG_SYSCALL_DEFINEx(2, _##name, __VA_ARGS__)
#define KPG_SYSCALL_DEFINE3(name, ...) KPG_SYSCALL_DEFINEx(3, _##name, __VA_ARGS__)
#define KPG_SYSCALL_DEFINE4(name, ...) KPG_SYSCALL_DEFINEx(4, _##name, __VA_ARGS__)
#define KPG_SYSCALL_DEFINE5(name, ...) KPG_SYSCALL_DEFINEx(5, _##name, __VA_ARGS__)
#define KPG_SYSCALL_DEFINE6(name, ...) KPG_SYSCALL_DEFINEx(6, _##name, __VA_ARGS__)

/* arch/x86/include/asm/syscall_wrapper.h's __SYSCALL_DEFINEx with the body renamed and not inline. */
#define KPG_SYSCALL_DEFINEx(x, name, ...)                                                \
	static long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__));                   \
	static long __kpg_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__));               \
	__X64_SYS_STUBx(x, name, __VA_ARGS__)                                            \
	__IA32_SYS_STUBx(x, name, __VA_ARGS__)                                           \
	static long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__))                    \
	{                                                                                \
		long ret = __kpg_do_sys##name(__MAP(x, __SC_CAST, __VA_ARGS__));        \
		__MAP(x, __SC_TEST, __VA_ARGS__);                                        \
		__PROTECT(x, ret, __MAP(x, __SC_ARGS, __VA_ARGS__));                     \
		return ret;                                                              \
	}                                                                                \
	static long __kpg_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__))
#endif /* CONFIG_X86_64 */

#endif /* _KPATCH_GEN_H */
