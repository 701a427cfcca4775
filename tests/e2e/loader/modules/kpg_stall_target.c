// SPDX-License-Identifier: GPL-2.0-only
/*
 * A normal (non-livepatch) module whose kernel thread "kpg_stall" sleeps inside
 * kpg_stall_sleep() until told to leave, to block a livepatch transition on purpose.
 *
 * While a task sleeps inside a function that a patch replaces, the 6.1 consistency model
 * cannot switch it (klp_check_stack finds the old function on its stack), so the patching
 * transition of kpg_stall_patch stalls. Writing 1 to
 * /sys/module/kpg_stall_target/parameters/release lets the thread return from
 * kpg_stall_sleep() and park in kpg_stall_idle(), which no patch touches.
 *
 * Parameters: release (write 1), sleeping (1 while inside kpg_stall_sleep), answer (the
 * return value of kpg_stall_answer(): 1 unpatched, 2 once kpg_stall_patch is active: the
 * probe of the stall test).
 */
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/wait.h>

static DECLARE_WAIT_QUEUE_HEAD(kpg_wq);
static bool kpg_released;
static int kpg_sleeping;
static struct task_struct *kpg_thread;

/*
 * noipa, not just noinline: GCC may otherwise propagate the constant return value into the
 * caller (IPA-CP), and then patching the function would not change what `answer` shows.
 */
#define kpg_patchable noinline __attribute__((__noipa__))

static kpg_patchable int kpg_stall_answer(void)
{
	return 1;
}

static kpg_patchable void kpg_stall_sleep(void)
{
	WRITE_ONCE(kpg_sleeping, 1);
	pr_info("kpg_stall_target: sleeping in kpg_stall_sleep\n");
	/* Interruptible: the kernel's fake signals (after ~15 s) wake us; we sleep again. */
	while (!READ_ONCE(kpg_released) && !kthread_should_stop())
		wait_event_interruptible(kpg_wq, READ_ONCE(kpg_released) || kthread_should_stop());
	WRITE_ONCE(kpg_sleeping, 0);
	pr_info("kpg_stall_target: left kpg_stall_sleep\n");
}

static noinline void kpg_stall_idle(void)
{
	while (!kthread_should_stop())
		wait_event_interruptible(kpg_wq, kthread_should_stop());
}

static int kpg_stall_fn(void *unused)
{
	kpg_stall_sleep();
	kpg_stall_idle();
	return 0;
}

static int kpg_release_set(const char *val, const struct kernel_param *kp)
{
	bool v;
	int ret = kstrtobool(val, &v);

	if (ret)
		return ret;
	if (v) {
		WRITE_ONCE(kpg_released, true);
		wake_up_interruptible(&kpg_wq);
	}
	return 0;
}

static int kpg_release_get(char *buf, const struct kernel_param *kp)
{
	return sprintf(buf, "%d\n", READ_ONCE(kpg_released) ? 1 : 0);
}

static const struct kernel_param_ops kpg_release_ops = {
	.set = kpg_release_set,
	.get = kpg_release_get,
};
module_param_cb(release, &kpg_release_ops, NULL, 0644);

static int kpg_answer_get(char *buf, const struct kernel_param *kp)
{
	return sprintf(buf, "%d\n", kpg_stall_answer());
}

static const struct kernel_param_ops kpg_answer_ops = {
	.get = kpg_answer_get,
};
module_param_cb(answer, &kpg_answer_ops, NULL, 0444);
module_param_named(sleeping, kpg_sleeping, int, 0444);

static int __init kpg_stall_init(void)
{
	kpg_thread = kthread_run(kpg_stall_fn, NULL, "kpg_stall");
	return PTR_ERR_OR_ZERO(kpg_thread);
}

static void __exit kpg_stall_exit(void)
{
	WRITE_ONCE(kpg_released, true);
	kthread_stop(kpg_thread);
}

module_init(kpg_stall_init);
module_exit(kpg_stall_exit);
MODULE_LICENSE("GPL");
