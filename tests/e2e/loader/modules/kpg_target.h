/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The two .modinfo keys kpatch-gen's builder writes into every patch module (see
 * docs/loader.md): the kernel release and the GNU build ID of the vmlinux the patch was
 * built against. The e2e scripts pass the lab kernel's values with -D; a test module that
 * must be refused overrides them.
 */
#ifndef KPG_TARGET_H
#define KPG_TARGET_H
#include <linux/module.h>

#ifdef KPG_TARGET_BUILD_ID
MODULE_INFO(kpg_target_build_id, KPG_TARGET_BUILD_ID);
#endif
#ifdef KPG_TARGET_RELEASE
MODULE_INFO(kpg_target_release, KPG_TARGET_RELEASE);
#endif

#endif
