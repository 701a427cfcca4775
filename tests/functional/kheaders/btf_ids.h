/* SPDX-License-Identifier: GPL-2.0-only */
/* BTF id lists and sets as Linux 6.1 emits them with CONFIG_DEBUG_INFO_BTF
 * (include/linux/btf_ids.h): 4-byte words in .BTF_ids, each id a local object named
 * __BTF_ID__<kind>__<name>__<__COUNTER__><__LINE__>, a list a local label. */
typedef unsigned int u32;
#define KPG___PASTE(a, b) a##b
#define KPG_PASTE(a, b) KPG___PASTE(a, b)
#define KPG_BTF_ID_(symbol, word)					\
	asm(".pushsection .BTF_ids,\"a\";\n"				\
	    ".local " #symbol ";\n.type " #symbol ", STT_OBJECT;\n"	\
	    ".size " #symbol ", 4;\n" #symbol ":\n.zero 4\n"		\
	    word ".popsection;\n");
#define KPG_BTF_ID(symbol, word) KPG_BTF_ID_(symbol, word)
#define KPG_ID(prefix) KPG_PASTE(KPG_PASTE(prefix, __COUNTER__), __LINE__)
#define BTF_ID(prefix, name) KPG_BTF_ID(KPG_ID(__BTF_ID__##prefix##__##name##__), "")
#define BTF_ID_FLAGS(prefix, name, flags) \
	KPG_BTF_ID(KPG_ID(__BTF_ID__##prefix##__##name##__), ".long " #flags "\n")
#define KPG_BTF_ID_LIST(name, scope)					\
	asm(".pushsection .BTF_ids,\"a\";\n." #scope " " #name ";\n"	\
	    #name ":;\n.popsection;\n");
#define BTF_ID_LIST(name) KPG_BTF_ID_LIST(name, local) extern u32 name[];
#define BTF_ID_LIST_SINGLE(name, prefix, typename) BTF_ID_LIST(name) BTF_ID(prefix, typename)
#define BTF_SET8_START(name)						\
	KPG_BTF_ID_LIST(name, local)					\
	asm(".pushsection .BTF_ids,\"a\";\n.local __BTF_ID__set8__" #name ";\n" \
	    "__BTF_ID__set8__" #name ":;\n.zero 8\n.popsection;\n");
#define BTF_SET8_END(name)						\
	asm(".pushsection .BTF_ids,\"a\";\n"				\
	    ".size __BTF_ID__set8__" #name ", .-" #name "\n.popsection;\n"); \
	extern struct btf_id_set8 name;
