/* SPDX-License-Identifier: GPL-2.0-only */
/* EXPORT_SYMBOL() as Linux 6.1 x86-64 emits it (include/linux/export.h with
 * CONFIG_HAVE_ARCH_PREL32_RELOCATIONS): the name and namespace strings in __ksymtab_strings,
 * one 12-byte struct kernel_symbol in a section of its own, ___ksymtab[_gpl]+<symbol>. */
#define __KPG_EXPORT(sym, sec, ns)							\
	extern typeof(sym) sym;								\
	asm("	.section \"__ksymtab_strings\",\"aMS\",%progbits,1\n"			\
	    "__kstrtab_" #sym ":\n	.asciz \"" #sym "\"\n"				\
	    "__kstrtabns_" #sym ":\n	.asciz \"" ns "\"\n	.previous\n");		\
	asm("	.section \"___ksymtab" sec "+" #sym "\", \"a\"\n	.balign 4\n"		\
	    "__ksymtab_" #sym ":\n"							\
	    "	.long " #sym "- .\n	.long __kstrtab_" #sym "- .\n"			\
	    "	.long __kstrtabns_" #sym "- .\n	.previous\n")
#define EXPORT_SYMBOL(sym) __KPG_EXPORT(sym, "", "")
#define EXPORT_SYMBOL_GPL(sym) __KPG_EXPORT(sym, "_gpl", "")
#define EXPORT_SYMBOL_NS_GPL(sym, ns) __KPG_EXPORT(sym, "_gpl", #ns)
