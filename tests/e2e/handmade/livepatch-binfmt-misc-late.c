// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A hand-written live patch with the behaviour of examples/module-binfmt-misc-late, so that
 * the example's late-module scenario runs in the lab before kpatch-gen can build the module
 * from the example's patch. Written like the kernel's samples/livepatch/livepatch-sample.c.
 *
 * The example changes entry_status() in the binfmt_misc module. entry_status() is static
 * and gcc inlines it into its only caller, bm_entry_read(), so a hand-written patch replaces
 * bm_entry_read() (a file_operations method, so it always exists as a traceable function)
 * with a copy that calls a patched copy of entry_status(). Only exported symbols are used:
 * a hand-written module cannot reach the module's statics, which is what kpatch-gen's KLP
 * relocations are for.
 *
 * binfmt_misc_node.h is cut out of the lab kernel's own fs/binfmt_misc.c at test time
 * (enum {Enabled, Magic}, MISC_FMT_*, typedef ... Node), so struct Node always matches.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/string.h>
#include <linux/refcount.h>
#include <linux/dcache.h>
#include "binfmt_misc_node.h"

/* entry_status() of fs/binfmt_misc.c (VERBOSE_STATUS branch) plus the example's line. */
static void kpg_entry_status(Node *e, char *page)
{
	char *dp = page;
	const char *status = "disabled";

	if (test_bit(Enabled, &e->flags))
		status = "enabled";

	dp += sprintf(dp, "%s\ninterpreter %s\n", status, e->interpreter);
	dp += sprintf(dp, "kpg_example=module-binfmt-misc-late\n");

	dp += sprintf(dp, "flags: ");
	if (e->flags & MISC_FMT_PRESERVE_ARGV0)
		*dp++ = 'P';
	if (e->flags & MISC_FMT_OPEN_BINARY)
		*dp++ = 'O';
	if (e->flags & MISC_FMT_CREDENTIALS)
		*dp++ = 'C';
	if (e->flags & MISC_FMT_OPEN_FILE)
		*dp++ = 'F';
	*dp++ = '\n';

	if (!test_bit(Magic, &e->flags)) {
		sprintf(dp, "extension .%s\n", e->magic);
	} else {
		dp += sprintf(dp, "offset %i\nmagic ", e->offset);
		dp = bin2hex(dp, e->magic, e->size);
		if (e->mask) {
			dp += sprintf(dp, "\nmask ");
			dp = bin2hex(dp, e->mask, e->size);
		}
		*dp++ = '\n';
		*dp = '\0';
	}
}

/* bm_entry_read() of fs/binfmt_misc.c, calling the patched entry_status(). */
static ssize_t kpg_bm_entry_read(struct file *file, char __user *buf, size_t nbytes,
				 loff_t *ppos)
{
	Node *e = file_inode(file)->i_private;
	ssize_t res;
	char *page;

	page = (char *)__get_free_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;

	kpg_entry_status(e, page);

	res = simple_read_from_buffer(buf, nbytes, ppos, page, strlen(page));

	free_page((unsigned long)page);
	return res;
}

static struct klp_func funcs[] = {
	{
		.old_name = "bm_entry_read",
		.new_func = kpg_bm_entry_read,
	}, { }
};

static struct klp_object objs[] = {
	{
		.name = "binfmt_misc",
		.funcs = funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int livepatch_init(void)
{
	return klp_enable_patch(&patch);
}

static void livepatch_exit(void)
{
}

module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
