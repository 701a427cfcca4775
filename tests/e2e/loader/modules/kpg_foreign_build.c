// SPDX-License-Identifier: GPL-2.0-only
/*
 * The same patch built "for another kernel": same release, but the build ID of a different
 * vmlinux. kpatch-load must refuse it before finit_module; the kernel itself would load it.
 */
#undef KPG_TARGET_BUILD_ID
#define KPG_TARGET_BUILD_ID "00000000000000000000000000000000deadbeef"
#define KPG_CMDLINE_TEXT "kpg_foreign_build: must never be seen"
#include "kpg_cmdline.h"
