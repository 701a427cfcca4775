/* SPDX-License-Identifier: GPL-2.0-only */
/* pr_debug() as Linux 6.1 x86-64 emits it with CONFIG_DYNAMIC_DEBUG (include/linux/
 * dynamic_debug.h): a struct _ddebug named __UNIQUE_ID_ddebug<__COUNTER__> (gcc adds .<n>,
 * it is a function-scope static) in section __dyndbg, and with CONFIG_JUMP_LABEL (the
 * default; -DKPG_NO_JUMP_LABEL turns it off) a static branch on the descriptor's key: a
 * __jump_table entry whose key field points at descriptor+40. */
struct static_key {
	int enabled;
	union { unsigned long type; void *entries; };
};
struct _ddebug {
	const char *modname, *function, *filename, *format;
	unsigned int lineno:18, class_id:6, flags:8;
#ifndef KPG_NO_JUMP_LABEL
	struct static_key key;
#endif
} __attribute__((aligned(8)));
extern void __dynamic_pr_debug(struct _ddebug *descriptor, const char *fmt, ...);
#ifdef DEBUG
#define KPG_DPRINTK_FLAGS_DEFAULT 1
#else
#define KPG_DPRINTK_FLAGS_DEFAULT 0
#endif
#ifndef KPG_NO_JUMP_LABEL
static inline __attribute__((always_inline)) int kpg_static_branch(struct static_key *key, int branch)
{
	asm goto("1: .byte 0x0f,0x1f,0x44,0x00,0x00\n\t"
		 ".pushsection __jump_table, \"aw\"\n\t"
		 ".balign 8\n\t"
		 ".long 1b - ., %l[l_yes] - .\n\t"
		 ".quad %c0 + %c1 - .\n\t"
		 ".popsection\n\t"
		 : : "i"(key), "i"(branch) : : l_yes);
	return 0;
l_yes:
	return 1;
}
#define KPG_DDEBUG_KEY_INIT .key = { 0, { 0 } },
#define KPG_DDEBUG_BRANCH(d) kpg_static_branch(&(d).key, 0)
#else
#define KPG_DDEBUG_KEY_INIT
#define KPG_DDEBUG_BRANCH(d) __builtin_expect((d).flags & 1, 0)
#endif
#define KPG___PASTE(a, b) a##b
#define KPG_PASTE(a, b) KPG___PASTE(a, b)
#define __UNIQUE_ID(prefix) KPG_PASTE(KPG_PASTE(__UNIQUE_ID_, prefix), __COUNTER__)
#define KPG_DYNAMIC_FUNC_CALL(id, fmt, ...) do {					\
	static struct _ddebug __attribute__((aligned(8), section("__dyndbg"))) id = {	\
		.modname = "unit", .function = __func__, .filename = __FILE__,		\
		.format = (fmt), .lineno = __LINE__, .class_id = 63,			\
		.flags = KPG_DPRINTK_FLAGS_DEFAULT, KPG_DDEBUG_KEY_INIT };		\
	if (KPG_DDEBUG_BRANCH(id))							\
		__dynamic_pr_debug(&id, fmt, ##__VA_ARGS__);				\
} while (0)
#define pr_debug(fmt, ...) KPG_DYNAMIC_FUNC_CALL(__UNIQUE_ID(ddebug), fmt, ##__VA_ARGS__)
