// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live patch of the kpg_stall_target module: replaces kpg_stall_sleep() (where that
 * module's kthread sleeps, so the patching transition stalls until it is released) and
 * kpg_stall_answer() (returns 2 instead of 1: the probe).
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>

#include "kpg_target.h"

static int kpg_stall_answer_patched(void)
{
	return 2;
}

static void kpg_stall_sleep_patched(void)
{
	pr_info("kpg_stall_patch: patched kpg_stall_sleep does not sleep\n");
}

static struct klp_func kpg_funcs[] = {
	{ .old_name = "kpg_stall_sleep", .new_func = kpg_stall_sleep_patched },
	{ .old_name = "kpg_stall_answer", .new_func = kpg_stall_answer_patched },
	{}
};

static struct klp_object kpg_objs[] = {
	{ .name = "kpg_stall_target", .funcs = kpg_funcs },
	{}
};

static struct klp_patch kpg_patch = {
	.mod = THIS_MODULE,
	.objs = kpg_objs,
	.replace = true,
};

static int __init kpg_stall_patch_init(void)
{
	return klp_enable_patch(&kpg_patch);
}

static void __exit kpg_stall_patch_exit(void)
{
}

module_init(kpg_stall_patch_init);
module_exit(kpg_stall_patch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
