// SPDX-License-Identifier: GPL-2.0-only
/* Cumulative patch level 2 for the loader e2e tests: replaces level 1. */
#define KPG_CMDLINE_TEXT "kpg_cmdline_v2: this has been live patched again"
#include "kpg_cmdline.h"
