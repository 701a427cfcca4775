// SPDX-License-Identifier: GPL-2.0-only
/* Cumulative patch level 1 for the loader e2e tests. */
#define KPG_CMDLINE_TEXT "kpg_cmdline_v1: this has been live patched"
#include "kpg_cmdline.h"
