// SPDX-License-Identifier: GPL-2.0-only
//
// DWARF queries on libdwarf. Answers questions; never walks DIEs on behalf of callers.
//
//  - Struct sizes from a linked kernel (vmlinux with debug info): the entry sizes of special
//    sections (struct bug_entry, alt_instr, jump_entry, ...), which 6.1 does not record in
//    sh_entsize and which change with config (CONFIG_DEBUG_BUGVERBOSE changes bug_entry).
//  - Compile units of a linked kernel: source file, producer (compiler + flags), and the
//    functions each unit defines with their sizes (to check that rebuilt objects match the
//    kernel that runs, and that the compiler is the same).
//  - For a relocatable object: line numbers and inlining at a (section, offset), used to tell
//    a __LINE__-only difference from a real one and to explain "inlined callee X changed".
//    DWARF in a .o refers to code through relocations against per-function sections that all
//    start at address 0; ObjectDebugInfo gives every allocatable section a distinct address,
//    applies the .rela.debug_* relocations itself and hands the relocated sections to libdwarf
//    through its object-access interface, then maps addresses back to (section, offset).
// Knows nothing of livepatch.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "elf/model.h"
#include "support/error.h"

namespace kpg::dwarf {

// byte_size of the first complete (non-declaration) struct with each name; names that are not
// found are absent from the result. Stops scanning once every name is found.
Expected<std::map<std::string, u64>> struct_sizes(const std::string &elf_path, const std::vector<std::string> &names);

struct FunctionInfo {
  std::string name;
  u64 low_pc = 0;
  u64 size = 0; // high_pc - low_pc of the out-of-line instance
};

struct CompileUnit {
  std::string name;     // DW_AT_name, e.g. "fs/proc/cmdline.c"
  std::string comp_dir; // DW_AT_comp_dir
  std::string producer; // DW_AT_producer, e.g. "GNU C11 12.2.0 -mno-sse ... -O2 ..."
  std::vector<FunctionInfo> functions; // concrete subprograms with code (when requested)
};

struct CuOptions {
  bool functions = false;                 // also list each unit's functions (slower)
  std::vector<std::string> only_names;    // if non-empty: only units whose name ends with one of these
};

Expected<std::vector<CompileUnit>> compile_units(const std::string &elf_path, const CuOptions &opts = {});

struct InlineFrame {
  std::string callee;   // name of the inlined function
  std::string call_file;
  u32 call_line = 0;    // line of the call site in the caller
};

struct LoadOptions {
  bool lines = true;   // the line table (line_at)
  bool inlines = true; // the inlining tree (inline_chain)
  // When non-empty: only functions whose code lies in these sections are walked for inlined
  // subroutines (inline_chain answers nothing elsewhere). A diff that explains one changed
  // function of a 10,000-function unit does not need the other functions' inlining trees.
  std::vector<elf::SectionId> inline_sections;
};

// The .debug_* sections ObjectDebugInfo::load() reads: all but the call frame information
// (.debug_frame), the address-range index (.debug_aranges) and the location lists
// (.debug_loc, .debug_loclists), which it never asks libdwarf about. A caller that reads an
// object's debug sections only to load them here can leave those out: in a kernel unit
// built with -O2 they are a third of the debug bytes and relocations.
bool loads_debug_section(std::string_view name);

// What a function's callers depend on, as its unit's DWARF spells it: the return and parameter
// types (`prototype`, "int(struct foo *, unsigned long)"), and every struct, union, enum and
// typedef they reach, through pointers too, once each by name (`aggregates`: "struct foo" ->
// "{int a@0; struct bar * b@8; } size 16", "enum e" -> "{A=0, B=1} size 4", "typedef u32" ->
// "unsigned int"; a struct the unit only declares is kOpaque). That is what genksyms expands
// into an exported function's CRC, so a CRC change can be told apart: a new #include that
// completes a struct the unit saw only declared changes the CRC, not the ABI.
struct FunctionAbi {
  static constexpr const char *kOpaque = "opaque";
  std::string prototype;
  std::map<std::string, std::string> aggregates;
};
// The ABI of each function of `names` that a relocatable object defines (a DW_TAG_subprogram
// with that DW_AT_name, not a declaration); names it does not define are absent, as is
// everything when it has no debug info.
Expected<std::map<std::string, FunctionAbi>> function_abis(const elf::ObjectFile &obj,
                                                          const std::vector<std::string> &names);

class ObjectDebugInfo {
public:
  // Loads the DWARF of a relocatable object. An object without .debug_info gives an empty
  // result (has_info() == false), not an error.
  static Expected<ObjectDebugInfo> load(const elf::ObjectFile &obj, const LoadOptions &opts = {});
  ObjectDebugInfo(ObjectDebugInfo &&) noexcept;
  ObjectDebugInfo &operator=(ObjectDebugInfo &&) noexcept;
  ~ObjectDebugInfo();

  bool has_info() const;
  // Source line of the instruction at `offset` in `sec` (from the line table: the row with
  // the greatest address <= offset inside the same sequence), if known.
  std::optional<u32> line_at(elf::SectionId sec, u64 offset) const;
  // Inlined-subroutine chain covering the address, innermost first (empty if none).
  std::vector<InlineFrame> inline_chain(elf::SectionId sec, u64 offset) const;

private:
  struct Impl;
  explicit ObjectDebugInfo(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace kpg::dwarf
