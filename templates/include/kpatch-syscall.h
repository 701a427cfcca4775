/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpatch-syscall.h - KPATCH_SYSCALL_DEFINE0..6 for patch collections written for kpatch.
 *
 * A patched system call cannot keep SYSCALL_DEFINEn(): its body is a `static inline`
 * __do_sys_<name>() with no ftrace entry. These macros are kpatch-gen's KPG_SYSCALL_DEFINEn()
 * (kpatch-gen.h): the traceable wrappers __x64_sys_<name> (and __ia32_sys_<name>) are what
 * gets patched, around a body under a new name. They emit no syscall metadata
 * (__syscalls_metadata, _ftrace_events): the running kernel's stays in use, so there is
 * nothing to ignore.
 */
#ifndef _KPATCH_GEN_KPATCH_SYSCALL_H
#define _KPATCH_GEN_KPATCH_SYSCALL_H

#include "kpatch-gen.h"

#define KPATCH_SYSCALL_DEFINE0(name) KPG_SYSCALL_DEFINE0(name)
#define KPATCH_SYSCALL_DEFINE1(name, ...) KPG_SYSCALL_DEFINE1(name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE2(name, ...) KPG_SYSCALL_DEFINE2(name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE3(name, ...) KPG_SYSCALL_DEFINE3(name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE4(name, ...) KPG_SYSCALL_DEFINE4(name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE5(name, ...) KPG_SYSCALL_DEFINE5(name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE6(name, ...) KPG_SYSCALL_DEFINE6(name, __VA_ARGS__)

#endif /* _KPATCH_GEN_KPATCH_SYSCALL_H */
