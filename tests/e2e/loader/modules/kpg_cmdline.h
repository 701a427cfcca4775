/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A cumulative (replace-mode) live patch of cmdline_proc_show, the function behind
 * /proc/cmdline, in the style of the kernel's samples/livepatch/livepatch-sample.c. Each
 * including file defines KPG_CMDLINE_TEXT, the line /proc/cmdline shows while it is active,
 * so a probe can tell the versions apart.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

#include "kpg_target.h"

static int kpg_cmdline_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%s\n", KPG_CMDLINE_TEXT);
	return 0;
}

static struct klp_func kpg_funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = kpg_cmdline_proc_show,
	},
	{}
};

static struct klp_object kpg_objs[] = {
	{
		/* NULL name: vmlinux */
		.funcs = kpg_funcs,
	},
	{}
};

static struct klp_patch kpg_patch = {
	.mod = THIS_MODULE,
	.objs = kpg_objs,
	/* Cumulative: loading it atomically replaces every older patch (rollback relies on it). */
	.replace = true,
};

static int __init kpg_cmdline_init(void)
{
	return klp_enable_patch(&kpg_patch);
}

static void __exit kpg_cmdline_exit(void)
{
}

module_init(kpg_cmdline_init);
module_exit(kpg_cmdline_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
