/* EXPORT_SYMBOL() as Linux 6.12 x86-64 emits it (include/linux/export.h, CONFIG_64BIT): an
 * entry per export in the unit's one .export_symbol section, starting at the local label
 * __export_symbol_<sym>: the license ("" or "GPL") and the namespace as strings, then an
 * 8-byte pointer to the symbol. modpost turns them into the ksymtab at link time. */
#define __KPG_EXPORT(sym, license, ns)						\
	extern typeof(sym) sym;							\
	asm("	.section \".export_symbol\",\"a\"\n"				\
	    "__export_symbol_" #sym ":\n"					\
	    "	.asciz \"" license "\"\n"					\
	    "	.ascii \"" ns "\\0\"\n"						\
	    "	.balign 8\n"							\
	    "	.quad " #sym "\n"						\
	    "	.previous\n")
#define EXPORT_SYMBOL(sym) __KPG_EXPORT(sym, "", "")
#define EXPORT_SYMBOL_GPL(sym) __KPG_EXPORT(sym, "GPL", "")
#define EXPORT_SYMBOL_NS_GPL(sym, ns) __KPG_EXPORT(sym, "GPL", #ns)
