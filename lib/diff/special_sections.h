// SPDX-License-Identifier: GPL-2.0-only
//
// The special sections of Linux 6.1 on x86-64, as data.
//
// A "special section" is a table the kernel walks at boot or module load, whose entries point
// into functions: BUG/WARN sites, exception fixups, alternatives, jump labels, ftrace call
// sites, ORC unwind data... When a function is copied into a livepatch module, exactly the
// entries that point into it must come along (and no others: an entry that points at a
// function we do not carry would make the module loader patch kernel text through a
// relocation to the original). When an unchanged function's entries differ (WARN_ON became
// WARN_ON_ONCE: same code, different bug_entry flags) the function *is* changed.
//
// 6.1 does not record entry sizes in sh_entsize, so they come from, in order of preference:
// the command line (--entry-size), the target vmlinux's DWARF (the struct named here), or
// the built-in 6.1 x86-64 default below. Every entry is validated against the relocation
// pattern (each entry must carry its owner relocation at owner_offset), so a wrong size is an
// error that names the section, not a silent mis-grouping.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/types.h"

namespace kpg::diff {

enum class SpecialPolicy {
  // Keep the entries whose owner is an included function; compare them as part of their
  // owner (semantic data not visible in the code bytes).
  KeepCompare,
  // Keep the entries of included functions, but do not compare them: they are derived from
  // the code (ftrace sites, lock prefixes, retpoline/return sites, ORC).
  KeepDerived,
  // Drop entirely, with a note in the report (metadata that has no runtime effect for a
  // livepatch, e.g. the printk format index).
  Drop,
};

struct SpecialSection {
  std::string name;
  u64 default_entry_size = 0;   // 6.1 x86-64
  std::string dwarf_struct;     // struct whose byte_size is the entry size ("" = fixed)
  u64 owner_offset = 0;         // offset of the relocation that names the owning code
  SpecialPolicy policy = SpecialPolicy::KeepCompare;
  // Byte range inside an entry that holds a source line number (ignored by comparison).
  // __bug_table with CONFIG_DEBUG_BUGVERBOSE: struct bug_entry { s32 bug_addr_disp;
  // s32 file_disp; u16 line; u16 flags; } -> [8, 10). Only applied when the entry size is
  // the one the layout was written for.
  std::optional<std::pair<u64, u64>> line_field;
  u64 line_field_entry_size = 0;
  // Offset of a "key" relocation that must resolve to vmlinux or to the patch itself
  // (__jump_table: struct jump_entry { s32 code; s32 target; long key; } -> 8;
  // .static_call_sites: struct static_call_site { s32 addr; s32 key; } -> 4).
  std::optional<u64> key_offset;
  // Paired/auxiliary sections.
  std::string aux_section;      // .altinstructions -> .altinstr_replacement; .orc_unwind_ip -> .orc_unwind
  u64 aux_entry_size = 0;       // .orc_unwind: sizeof(struct orc_entry) = 6
  std::string aux_dwarf_struct; // "orc_entry"
  // .altinstructions: where the replacement pointer and its length live in an entry.
  std::optional<u64> repl_offset;     // struct alt_instr.repl_offset -> 4
  std::optional<u64> repl_len_offset; // struct alt_instr.replacementlen (u8) -> 11
  std::string why; // one line for --help and the report
};

// The table (6.1, x86-64). Order matters: sections whose kept entries decide what else is
// kept (.altinstructions decides which .altinstr_replacement chunks live, whose ORC entries
// are then kept) come first.
const std::vector<SpecialSection> &special_sections_6_1_x86_64();

const SpecialSection *find_special_section(std::string_view name);

// Sections that are neither code nor data nor a table of the list above, and are dropped
// without being looked at (debug info, notes, build metadata, objtool annotations).
bool is_ignored_section(std::string_view name);

// Sections that are known to hold only data objects (correlated and compared per object).
bool is_data_section_name(std::string_view name);

// __init / __exit code and data: runs once (or never for built-in code) and is freed.
bool is_init_section_name(std::string_view name);
bool is_exit_section_name(std::string_view name);

// The struct names whose DWARF byte_size gives entry sizes (alt_instr, bug_entry, ...).
std::vector<std::string> special_section_structs();

// Where each special section's entry size came from.
enum class SizeSource { Builtin, Dwarf, CommandLine };
struct EntrySize {
  u64 size = 0;
  SizeSource source = SizeSource::Builtin;
};
const char *size_source_name(SizeSource s);

// Resolved entry sizes for one run: built-in defaults overridden by DWARF sizes (struct name ->
// bytes) and by the command line (section name -> bytes).
std::map<std::string, EntrySize> resolve_entry_sizes(const std::map<std::string, u64> &dwarf_struct_sizes,
                                                     const std::map<std::string, u64> &cmdline);

} // namespace kpg::diff
