// SPDX-License-Identifier: GPL-2.0-only
//
// The special sections of the x86-64 kernel lines kpatch-gen supports (6.1, 6.12), as data:
// one table per line, chosen from what the target or the objects say (choose_kernel_line).
//
// A "special section" is a table the kernel walks at boot or module load, whose entries point
// into functions: BUG/WARN sites, exception fixups, alternatives, jump labels, ftrace call
// sites, ORC unwind data... When a function is copied into a livepatch module, exactly the
// entries that point into it must come along (and no others: an entry that points at a
// function we do not carry would make the module loader patch kernel text through a
// relocation to the original). When an unchanged function's entries differ (WARN_ON became
// WARN_ON_ONCE: same code, different bug_entry flags) the function *is* changed.
//
// Neither line records entry sizes in sh_entsize, so they come from, in order of preference:
// the command line (--entry-size), the target vmlinux's DWARF (the struct named here), or
// the line's built-in x86-64 default below (struct alt_instr is 12 bytes in 6.1 and 14 in
// 6.12, which added a u16 of flags next to the cpuid). Every entry is validated against the relocation
// pattern (each entry must carry its owner relocation at owner_offset), so a wrong size is an
// error that names the section, not a silent mis-grouping.
#pragma once
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/error.h"
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
  // livepatch, e.g. the printk format index; the export entry of a changed function, whose
  // running kernel's export stays valid).
  Drop,
  // The entries are data objects that code refers to, not entries that point into code: the
  // dynamic debug descriptors of pr_debug() sites. Included code brings the descriptors it
  // uses (they are fresh statics, names.h), and the output gathers them into one section of
  // the table's name, because the module loader finds the table by that name. They are
  // correlated by `identity_fields`, not by their unstable names, and compared with the line
  // field masked.
  Objects,
  // Never copied: only the running kernel's copy is right. .BTF_ids holds BTF type ids that
  // resolve_btfids wrote into vmlinux at link time; a patch module's own copy would hold zeros
  // or ids of its split BTF. References from included code become livepatch relocations to
  // the running kernel's list symbol (btf_ids.h).
  RunningKernel,
  // A table a live patch cannot carry; refused when the object has one and anything is
  // included (__dyndbg_classes: class maps registered with their module's name and pointer).
  Refuse,
};

// A field of an entry that holds a source line number: `mask` selects its bits in the
// little-endian `width`-byte word at `offset` (struct bug_entry.line: a u16 at +8;
// struct _ddebug.lineno: the low 18 bits of the u32 at +32, which also holds class_id and
// flags). Applied only to the entry sizes whose layout it describes.
struct LineField {
  u64 offset = 0, width = 0;
  u64 mask = 0;
  std::vector<u64> entry_sizes;
  bool applies(u64 entsize) const {
    return std::find(entry_sizes.begin(), entry_sizes.end(), entsize) != entry_sizes.end();
  }
};

struct SpecialSection {
  // The section name; a trailing '*' makes it a prefix: "___ksymtab+*" is every
  // "___ksymtab+<symbol>" section (one per exported symbol, EXPORT_SYMBOL in 6.1).
  std::string name;
  u64 default_entry_size = 0;   // x86-64, of the table's kernel line
  // Entries of different sizes, each starting at a local label named with this prefix and
  // ending where the next one starts (default_entry_size is 0). 6.12's EXPORT_SYMBOL(foo) is
  // `__export_symbol_foo: .asciz "GPL"; .ascii "ns\0"; .balign 8; .quad foo` in one shared
  // .export_symbol section: 16 bytes without a namespace, 32 for EXPORT_SYMBOL_NS_GPL(f, NS)
  // with a 14-character NS. The owner relocation is the entry's only one (owner_offset is
  // not used).
  std::string entry_label;
  // A table objtool writes (.orc_unwind_ip, .return_sites, .call_sites, ...). When objtool
  // runs again at the patch module's link (Options::objtool_at_link), such a table is not
  // carried from an input that already has one (a single-object module's .o, which objtool
  // processed when it was compiled): objtool skips every table its input already has ("file
  // already has .return_sites section, skipping"), so a carried one would leave the rest of
  // the module without. Seen on the 6.12 lab with examples/dyndbg-module: the template's
  // returns stayed on the generic thunk, "Unpatched return thunk in use. This should not
  // happen!" at the first post_unpatch callback.
  bool objtool_output = false;
  std::string dwarf_struct;     // struct whose byte_size is the entry size ("" = fixed)
  u64 owner_offset = 0;         // offset of the relocation that names the owning code
  bool has_owner = true;        // false: entries carry no relocations at all (.BTF_ids)
  SpecialPolicy policy = SpecialPolicy::KeepCompare;
  // The source line number inside an entry (masked by comparison, reported as line-only).
  std::optional<LineField> line_field;
  // Objects policy: the fields whose targets identify an entry across two builds, since the
  // symbol names do not (struct _ddebug: function at +8 and format at +24; the descriptor's
  // name __UNIQUE_ID_ddebug<__COUNTER__>.<gcc number> changes with unrelated edits).
  std::vector<u64> identity_fields;
  std::string identity_what; // "function and format", for the report
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

  bool is_prefix() const { return !name.empty() && name.back() == '*'; }
  // Does section `sec` belong to this table?
  bool matches(std::string_view sec) const {
    return is_prefix() ? sec.substr(0, name.size() - 1) == std::string_view(name).substr(0, name.size() - 1) &&
                             sec.size() >= name.size()
                       : sec == name;
  }
};

// Does the output carry this table's kept entries as a table (KeepCompare, KeepDerived)?
// The others are dropped, carried as objects, or never copied.
inline bool copies_entries(const SpecialSection &s) {
  return s.policy == SpecialPolicy::KeepCompare || s.policy == SpecialPolicy::KeepDerived;
}

// The kernel lines kpatch-gen knows. A line is a long-term kernel series whose objects have
// one shape: the same special sections with the same entries, the same export format.
enum class KernelLine : u8 { V6_1, V6_12 };
const char *kernel_line_name(KernelLine l); // "6.1", "6.12"
// "6.12" -> V6_12 (also a release: "6.12.118+deb12-cloud-amd64", "6.1.0-57-cloud-amd64");
// nothing for another series.
std::optional<KernelLine> kernel_line_of(std::string_view release);

using SpecialTable = std::vector<SpecialSection>;

// One thing that tells the line: the command line (--kernel-line), the target's release, or a
// section of an input object that only one line has.
struct LineEvidence {
  KernelLine line;
  std::string source; // "target vmlinux: release 6.12.118+deb12-cloud-amd64", "orig.o: section .export_symbol"
};
struct LineChoice {
  KernelLine line = KernelLine::V6_1;
  std::string why; // for the report
};
// The line all evidence agrees on; an error naming two sources that disagree (a 6.12 object
// diffed for a 6.1 target would be read with the wrong table). Without evidence: 6.1, saying
// so -- the objects then have no section whose reading differs between the lines' tables
// but .altinstructions, whose entry size validate_special_sections checks against its
// relocations (a 6.12 table read with 12-byte entries is BAD_SPECIAL_SECTION, not mis-read).
Expected<LineChoice> choose_kernel_line(const std::vector<LineEvidence> &evidence);

// The table of one line (x86-64). Order matters: sections whose kept entries decide what else
// is kept (.altinstructions decides which .altinstr_replacement chunks live, whose ORC entries
// are then kept) come first. 6.12's differs from 6.1's in: exports (.export_symbol instead of
// ___ksymtab+NAME), struct alt_instr (14 bytes), no .parainstructions (paravirt calls became
// alternatives in 6.8), and objtool's .call_sites (call depth tracking).
const SpecialTable &special_sections(KernelLine line);

// The same table for a run whose module objtool processes at its link (Options::objtool_at_link):
// the rows objtool writes are dropped.
SpecialTable objtool_at_link_table(SpecialTable table);

// The table row a section belongs to (exact name, or a prefix row such as "___ksymtab+*").
const SpecialSection *find_special_section(const SpecialTable &table, std::string_view name);

// The line an object section shows it was built for, if it does: the export formats
// (___ksymtab+foo: 6.1; .export_symbol: 6.12), the one-shot data section of WARN_ONCE() and
// printk_once() (.data.once: 6.1; .data..once: 6.12, renamed in 6.5 so that vmlinux.lds
// matches it exactly), and -fpatchable-function-entry's __patchable_function_entries (6.12
// with CONFIG_CALL_PADDING; 6.1 x86 never uses the option).
std::optional<KernelLine> line_of_section(std::string_view name);

// Sections that are neither code nor data nor a table of the list above, and are dropped
// without being looked at (debug info, notes, build metadata, objtool annotations).
bool is_ignored_section(std::string_view name);

// Sections that are known to hold only data objects (correlated and compared per object).
bool is_data_section_name(std::string_view name);

// __init / __exit code and data: runs once (or never for built-in code) and is freed.
bool is_init_section_name(std::string_view name);
bool is_exit_section_name(std::string_view name);
// Sections whose symbols no final link keeps: `.discard.*` (module.lds and vmlinux.lds both
// drop it) and `.exitcall.exit` (vmlinux.lds' DISCARDS drops it for built-in code). A local
// defined there in a unit is never in the target's symbol table.
bool is_dropped_by_final_link(std::string_view name);

// The struct names whose DWARF byte_size gives entry sizes (alt_instr, bug_entry, ...), of
// every line's table (a target's DWARF answers for the structs it has).
std::vector<std::string> special_section_structs();

// Where each special section's entry size came from.
enum class SizeSource { Builtin, Dwarf, CommandLine };
struct EntrySize {
  u64 size = 0;
  SizeSource source = SizeSource::Builtin;
};
const char *size_source_name(SizeSource s);

// Resolved entry sizes for one run: the table's built-in defaults overridden by DWARF sizes
// (struct name -> bytes) and by the command line (section name -> bytes).
std::map<std::string, EntrySize> resolve_entry_sizes(const SpecialTable &table,
                                                     const std::map<std::string, u64> &dwarf_struct_sizes,
                                                     const std::map<std::string, u64> &cmdline);

} // namespace kpg::diff
