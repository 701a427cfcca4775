// SPDX-License-Identifier: GPL-2.0-only
#include "diff/special_sections.h"

#include <algorithm>
#include <fmt/format.h>
#include <string_view>

namespace kpg::diff {

using namespace std::string_view_literals;

static SpecialSection make(std::string name, u64 size, std::string dwarf_struct, SpecialPolicy policy, std::string why) {
  SpecialSection s;
  s.name = std::move(name);
  s.default_entry_size = size;
  s.dwarf_struct = std::move(dwarf_struct);
  s.policy = policy;
  s.why = std::move(why);
  return s;
}

static SpecialTable make_table(KernelLine line) {
  const bool v6_1 = line == KernelLine::V6_1;
  SpecialTable t;
  {
    // struct alt_instr { s32 instr_offset; s32 repl_offset; u16 cpuid; u8 instrlen;
    // u8 replacementlen; } in 6.1: ALTERNATIVE() sites, e.g. the `clac`/`stac` of user
    // copies. 6.12 has a u32 ft_flags (cpuid:16, flags:16) instead of the u16 cpuid: 14
    // bytes, replacementlen at +13 (a 6.12 mm/memory.o: .altinstructions is 0x604 = 110 x 14).
    SpecialSection s = make(".altinstructions", v6_1 ? 12 : 14, "alt_instr", SpecialPolicy::KeepCompare,
                            "alternative instructions (apply_alternatives at module load)");
    s.aux_section = ".altinstr_replacement";
    s.repl_offset = 4;
    s.repl_len_offset = v6_1 ? 11 : 13;
    t.push_back(s);
  }
  // struct exception_table_entry { int insn, fixup, data; }: get_user()/put_user() faults.
  t.push_back(make("__ex_table", 12, "exception_table_entry", SpecialPolicy::KeepCompare,
                   "exception fixups of user-memory accesses"));
  {
    // struct bug_entry { s32 bug_addr_disp; s32 file_disp; u16 line; u16 flags; } with
    // CONFIG_DEBUG_BUGVERBOSE; 8 bytes without it (then there is no line field).
    SpecialSection s = make("__bug_table", 12, "bug_entry", SpecialPolicy::KeepCompare,
                            "BUG()/WARN() sites (file, line, flags such as BUGFLAG_ONCE)");
    s.line_field = LineField{8, 2, 0xffff, {12}};
    t.push_back(s);
  }
  {
    // struct jump_entry { s32 code; s32 target; long key; } (the key's low bits are flags).
    SpecialSection s = make("__jump_table", 16, "jump_entry", SpecialPolicy::KeepCompare,
                            "static branches (static_branch_likely(), tracepoints, dynamic debug)");
    s.key_offset = 8;
    t.push_back(s);
  }
  {
    // struct static_call_site { s32 addr; s32 key; }
    SpecialSection s = make(".static_call_sites", 8, "static_call_site", SpecialPolicy::KeepCompare,
                            "static_call() sites patched at module load");
    s.key_offset = 4;
    s.objtool_output = true;
    t.push_back(s);
  }
  // struct paravirt_patch_site { u8 *instr; u8 type; u8 len; } (8 + 1 + 1, padded to 16).
  // Gone in 6.8: paravirt calls are ALTERNATIVE()s since (6.12's module_finalize() has no
  // .parainstructions).
  if (v6_1)
    t.push_back(make(".parainstructions", 16, "paravirt_patch_site", SpecialPolicy::KeepCompare,
                     "paravirt call sites (CONFIG_PARAVIRT)"));
  t.push_back(make(".smp_locks", 4, "", SpecialPolicy::KeepDerived, "LOCK prefixes removable on UP (derived from the code)"));
  t.push_back(make(".retpoline_sites", 4, "", SpecialPolicy::KeepDerived,
                   "indirect-call sites rewritten for retpolines (derived)"));
  t.back().objtool_output = true;
  t.push_back(make(".return_sites", 4, "", SpecialPolicy::KeepDerived, "return-thunk sites (CONFIG_RETHUNK, derived)"));
  t.back().objtool_output = true;
  // 6.12 (CONFIG_MITIGATION_CALL_DEPTH_TRACKING): objtool's s32 pointers to direct calls,
  // which callthunks_patch_module_calls() redirects to the callee's accounting thunk in its
  // 16 bytes of padding. No DWARF type (objtool writes them). With CONFIG_X86_KERNEL_IBT
  // objtool runs at link time only (scripts/Makefile.lib: delay-objtool), so a unit object
  // has none; an object objtool already processed (a single-object module's .o) has them.
  if (!v6_1) {
    t.push_back(make(".call_sites", 4, "", SpecialPolicy::KeepDerived,
                     "call-depth-tracking call sites (objtool, derived)"));
    t.back().objtool_output = true;
  }
  t.push_back(make("__mcount_loc", 8, "", SpecialPolicy::KeepDerived,
                   "ftrace call sites (-mrecord-mcount); lets ftrace nop out the copies' __fentry__ calls"));
  {
    // .orc_unwind_ip is an array of s32 PC-relative pointers; entry i of .orc_unwind (struct
    // orc_entry, 6 bytes, no relocations) belongs to it. Without ORC for the copied
    // functions the reliable unwinder fails inside them and transitions stall.
    SpecialSection s = make(".orc_unwind_ip", 4, "", SpecialPolicy::KeepDerived,
                            "ORC unwind tables (reliable stack traces for the consistency model)");
    s.aux_section = ".orc_unwind";
    s.aux_entry_size = 6;
    s.aux_dwarf_struct = "orc_entry";
    s.objtool_output = true;
    t.push_back(s);
  }
  t.push_back(make(".printk_index", 8, "", SpecialPolicy::Drop, "printk format index (debugfs metadata only; dropped)"));
  if (v6_1) {
    // struct kernel_symbol { int value_offset, name_offset, namespace_offset; } (6.1 with
    // CONFIG_HAVE_ARCH_PREL32_RELOCATIONS): EXPORT_SYMBOL(foo) puts one entry in a section
    // of its own, ___ksymtab+foo, with PC32 relocations to foo, __kstrtab_foo and
    // __kstrtabns_foo. The running kernel's export of a changed function stays valid
    // (callers through it reach the original, which ftrace redirects), and a second export
    // of the same name makes the module fail to load ("exports duplicate symbol"). New
    // exports and ABI changes are refused by check_exports (exports.cc).
    for (const char *name : {"___ksymtab+*", "___ksymtab_gpl+*"}) {
      SpecialSection s = make(name, 12, "kernel_symbol", SpecialPolicy::Drop,
                              "exported symbols (the running kernel's export stays valid; dropped)");
      t.push_back(s);
    }
  } else {
    // 6.12 (since 6.5): EXPORT_SYMBOL(foo) writes `__export_symbol_foo: .asciz ""; .ascii
    // "\0"; .balign 8; .quad foo` (license "" or "GPL", then the namespace) into one
    // .export_symbol section per unit, which modpost reads to generate the module's
    // ksymtab and which both linker scripts discard (kernel/fork.o: free_task, __mmdrop,
    // ... 16 bytes each). Left in a patch module, modpost would export the copies under the
    // module's name; dropped for the reasons given above for ___ksymtab+.
    SpecialSection s = make(".export_symbol", 0, "", SpecialPolicy::Drop,
                            "exported symbols (the running kernel's export stays valid; dropped)");
    s.entry_label = "__export_symbol_";
    t.push_back(s);
  }
  {
    // struct _ddebug { const char *modname, *function, *filename, *format;
    // unsigned int lineno:18, class_id:6, flags:8; [union { struct static_key_true/false }
    // key with CONFIG_JUMP_LABEL]; } __aligned(8): 56 bytes with jump labels, 40 without.
    // One per pr_debug()/dev_dbg() site, named __UNIQUE_ID_ddebug<N>.<M>. The owner field
    // is `function` (its __func__ string): the code that uses a descriptor refers to it,
    // not the other way round.
    SpecialSection s = make("__dyndbg", 56, "_ddebug", SpecialPolicy::Objects,
                            "dynamic debug descriptors of pr_debug() sites (carried with the functions that use them)");
    s.owner_offset = 8;
    s.line_field = LineField{32, 4, 0x3ffff, {40, 56}};
    s.identity_fields = {8, 24};
    s.identity_what = "function and format";
    t.push_back(s);
  }
  {
    // struct ddebug_class_map (DECLARE_DYNDBG_CLASSMAP, for class-based dynamic debug such as
    // drm.debug): it holds THIS_MODULE and is registered under the module's name; a copy in
    // a patch module would be another class map of another module. Not in Debian's config.
    SpecialSection s = make("__dyndbg_classes", 56, "ddebug_class_map", SpecialPolicy::Refuse,
                            "dynamic debug class maps (they hold their module's pointer and name; refused)");
    s.has_owner = false;
    t.push_back(s);
  }
  {
    // BTF_ID_LIST()/BTF_ID()/BTF_SET_START()/BTF_SET8_START() (include/linux/btf_ids.h): 4-byte
    // words (ids, set counts, kfunc flags) that resolve_btfids fills in when vmlinux or a
    // module is linked. No relocations.
    SpecialSection s = make(".BTF_ids", 4, "", SpecialPolicy::RunningKernel,
                            "BTF id lists and sets (resolved at link time; the running kernel's lists are used)");
    s.has_owner = false;
    t.push_back(s);
  }
  return t;
}

SpecialTable objtool_at_link_table(SpecialTable table) {
  for (SpecialSection &s : table)
    if (s.objtool_output) {
      s.policy = SpecialPolicy::Drop;
      s.why += "; not carried: objtool writes it at the patch module's link";
    }
  return table;
}

const SpecialTable &special_sections(KernelLine line) {
  static const SpecialTable v6_1 = make_table(KernelLine::V6_1), v6_12 = make_table(KernelLine::V6_12);
  return line == KernelLine::V6_1 ? v6_1 : v6_12;
}

const char *kernel_line_name(KernelLine l) { return l == KernelLine::V6_1 ? "6.1" : "6.12"; }

std::optional<KernelLine> kernel_line_of(std::string_view release) {
  // "6.1", "6.1.0-57-cloud-amd64", "6.1.192": the series is what precedes the second '.' (or
  // a '-'/'+' right after the minor number); "6.10" is not "6.1".
  size_t dot = release.find('.');
  if (dot == std::string_view::npos || release.substr(0, dot) != "6")
    return std::nullopt;
  size_t end = release.find_first_not_of("0123456789", dot + 1);
  std::string_view minor = release.substr(dot + 1, end == std::string_view::npos ? end : end - dot - 1);
  if (minor == "1")
    return KernelLine::V6_1;
  if (minor == "12")
    return KernelLine::V6_12;
  return std::nullopt;
}

const SpecialSection *find_special_section(const SpecialTable &table, std::string_view name) {
  for (const SpecialSection &s : table)
    if (s.matches(name))
      return &s;
  return nullptr;
}

std::optional<KernelLine> line_of_section(std::string_view name) {
  if (name.starts_with("___ksymtab+") || name.starts_with("___ksymtab_gpl+") || name == ".data.once")
    return KernelLine::V6_1;
  if (name == ".export_symbol" || name == ".data..once" || name == "__patchable_function_entries")
    return KernelLine::V6_12;
  return std::nullopt;
}

Expected<LineChoice> choose_kernel_line(const std::vector<LineEvidence> &evidence) {
  if (evidence.empty())
    return LineChoice{KernelLine::V6_1, "6.1: neither the target nor the objects say which kernel line built them "
                                        "(no release, no section only one line has); pass --kernel-line to choose"};
  const LineEvidence &first = evidence.front();
  for (const LineEvidence &e : evidence)
    if (e.line != first.line)
      return make_error(Location(), fmt::format("{} says kernel {}, but {} says {}: these objects were not built for "
                                                "this kernel (or --kernel-line is wrong)",
                                                first.source, kernel_line_name(first.line), e.source,
                                                kernel_line_name(e.line)));
  return LineChoice{first.line, fmt::format("{}: {}", kernel_line_name(first.line), first.source)};
}

static bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_ignored_section(std::string_view name) {
  // .discard.*: objtool annotations (.discard.reachable, .discard.retpoline_safe, ...) and
  //   __ADDRESSABLE() anchors; never loaded.
  // .altinstr_aux: static_cpu_has() slow paths, only used before alternatives are applied,
  //   which for a module happens before any of its code runs.
  // .orc_unwind / .altinstr_replacement are handled through their partner tables.
  // .eh_frame: the kernel builds with -fno-asynchronous-unwind-tables; user-space test
  //   objects have it and it only ever references functions as unwind data.
  // __patchable_function_entries: one 8-byte pointer per function to the NOP padding that
  //   -fpatchable-function-entry=16,16 puts before it (6.12 x86 with CONFIG_CALL_PADDING; 6.1
  //   has none). Not carried into a patch module, on purpose: nothing on x86 reads it. x86
  //   selects HAVE_DYNAMIC_FTRACE_NO_PATCHABLE, so FTRACE_CALLSITE_SECTION is __mcount_loc
  //   (include/linux/ftrace.h; the copy's ftrace site comes from its __mcount_loc entry, at
  //   +4 after endbr64), vmlinux.lds.h discards the section (PATCHABLE_DISCARDS), and
  //   module.lds.S only merges it into the .ko, where the loader never looks. What the padding
  //   is for -- call depth tracking's accounting thunk, written there by callthunks.c when it
  //   finds 16 NOPs before a call destination -- needs the padding bytes, which come with the
  //   function's section (the symbol starts 16 bytes into it), not these pointers. Nor could
  //   the entries follow their functions one by one: gcc 12 with binutils 2.40 (Debian 12)
  //   puts a unit's entries in a single SHF_LINK_ORDER section whose sh_link names only the
  //   first function's section, even with -ffunction-sections (int foo() and int bar() in
  //   one unit: two entries, .text.foo+0 and .text.bar+0, in one section linked to .text.foo).
  static constexpr std::string_view prefixes[] = {".discard", ".debug_", ".note", ".comment", ".eh_frame",
                                                  ".rela.", ".gnu.", ".llvm", ".modinfo", "__versions",
                                                  ".altinstr_aux", ".orc_unwind", ".altinstr_replacement",
                                                  "__patchable_function_entries", ".gcc_except_table",
                                                  ".kpatch_gen.", "__ksymtab", "__kcrctab"};
  // Most questions are about code sections (.text.foo, one per function: 20,000 calls for a
  // 10,000-function unit), which no prefix or name here starts like: answered at once.
  if (name.starts_with(".text"))
    return false;
  for (std::string_view p : prefixes)
    if (starts_with(name, p))
      return true;
  // .BTF / .BTF.ext: type information pahole adds to linked objects (not .BTF_ids, a table).
  return name.empty() || name == ".symtab" || name == ".strtab" || name == ".shstrtab" || name == ".BTF" ||
         name == ".BTF.ext";
}

bool is_data_section_name(std::string_view name) {
  static constexpr std::string_view prefixes[] = {".data", ".rodata", ".bss", ".tbss", ".tdata", ".ref.data",
                                                  "__tracepoints", "__dyndbg", "__param", ".init.data",
                                                  ".init.rodata", ".exit.data", ".meminit.data", ".meminit.rodata",
                                                  ".cpuinit.data", "_ftrace_events", "__bpf_raw_tp_map"};
  for (std::string_view p : prefixes)
    if (starts_with(name, p))
      return true;
  return false;
}

bool is_init_section_name(std::string_view name) {
  // .init.text, .init.data, .init.rodata, .init.setup, .initcall*.init, .meminit.* (init
  // when memory hotplug is off), .head.text, .x86_cpu_dev.init ...
  return starts_with(name, ".init.") || starts_with(name, ".initcall") || starts_with(name, ".meminit.") ||
         starts_with(name, ".head.text") || starts_with(name, ".con_initcall") || name.ends_with(".init");
}

bool is_exit_section_name(std::string_view name) { return starts_with(name, ".exit.") || starts_with(name, ".exitcall"); }

bool is_dropped_by_final_link(std::string_view name) {
  // .exitcall.exit: module_exit(af_unix_exit) in built-in net/unix/af_unix.c is
  //   `static exitcall_t __exitcall_af_unix_exit __section(".exitcall.exit") = af_unix_exit;`.
  //   A built-in unit is never unloaded, so include/asm-generic/vmlinux.lds.h lists EXIT_CALL
  //   under DISCARDS: Debian's 6.1 vmlinux has no __exitcall_* symbol at all, although its
  //   af_unix.c block keeps af_unix_exit itself (x86 keeps .exit.text, see its vmlinux.lds.S)
  //   and the __initcall__kmod_*, __setup_*, __param_* anchors (.init.data, __param).
  //   A module's module_exit() is an alias (cleanup_module) and emits no __exitcall_*.
  // .discard.*: objtool's STACK_FRAME_NON_STANDARD(fn) pointer
  //   (`__func_stack_frame_non_standard_fn`), __ADDRESSABLE() anchors: dropped by both
  //   vmlinux.lds and scripts/module.lds.
  return name == ".exitcall.exit" || name == ".discard" || starts_with(name, ".discard.");
}

std::vector<std::string> special_section_structs() {
  std::vector<std::string> v;
  for (KernelLine l : {KernelLine::V6_1, KernelLine::V6_12})
    for (const SpecialSection &s : special_sections(l))
      for (const std::string *n : {&s.dwarf_struct, &s.aux_dwarf_struct})
        if (!n->empty() && std::ranges::find(v, *n) == v.end())
          v.push_back(*n);
  return v;
}

const char *size_source_name(SizeSource s) {
  switch (s) {
  case SizeSource::Builtin: return "builtin x86-64 table of the kernel line";
  case SizeSource::Dwarf: return "target DWARF";
  case SizeSource::CommandLine: return "command line";
  }
  return "?";
}

std::map<std::string, EntrySize> resolve_entry_sizes(const SpecialTable &table,
                                                     const std::map<std::string, u64> &dwarf_struct_sizes,
                                                     const std::map<std::string, u64> &cmdline) {
  std::map<std::string, EntrySize> out;
  for (const SpecialSection &s : table) {
    EntrySize e{s.default_entry_size, SizeSource::Builtin};
    if (!s.dwarf_struct.empty())
      if (auto it = dwarf_struct_sizes.find(s.dwarf_struct); it != dwarf_struct_sizes.end())
        e = {it->second, SizeSource::Dwarf};
    if (auto it = cmdline.find(s.name); it != cmdline.end())
      e = {it->second, SizeSource::CommandLine};
    out[s.name] = e;
    if (!s.aux_section.empty() && s.aux_entry_size) {
      EntrySize a{s.aux_entry_size, SizeSource::Builtin};
      if (!s.aux_dwarf_struct.empty())
        if (auto it = dwarf_struct_sizes.find(s.aux_dwarf_struct); it != dwarf_struct_sizes.end())
          a = {it->second, SizeSource::Dwarf};
      if (auto it = cmdline.find(s.aux_section); it != cmdline.end())
        a = {it->second, SizeSource::CommandLine};
      out[s.aux_section] = a;
    }
  }
  return out;
}

} // namespace kpg::diff
