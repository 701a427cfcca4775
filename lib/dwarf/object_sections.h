// SPDX-License-Identifier: GPL-2.0-only
//
// Private to lib/dwarf: turning the .debug_* sections of a relocatable object into something
// libdwarf can read as if the object were linked.
//
// Why: in a .o built with -ffunction-sections every function sits at offset 0 of its own
// section, and DWARF refers to code only through relocations (R_X86_64_64 against the
// section symbol of .text.foo + addend). Read as-is, DW_AT_low_pc of cmdline_proc_show
// (.text.cmdline_proc_show) and of show_meminfo (.text.show_meminfo) in fs/proc/*.o are both
// 0, and so are the DW_LNE_set_address of their line-table sequences: "which line is at
// address 0x1c" has one answer per function. libdwarf's own ELF reader applies the
// relocations but with every section at address 0, which gives the same collision. So we
// play linker: every SHF_ALLOC section gets a distinct fake address, we apply the debug
// relocations ourselves into private copies, and we hand libdwarf those copies through its
// object-access interface (dwarf_object_init_b) with relocate_a_section = NULL.
#pragma once
#include <libdwarf/libdwarf.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dwarf/libdwarf_util.h"
#include "elf/model.h"
#include "support/error.h"

namespace kpg::dwarf::detail {

inline constexpr u64 kNoAddress = ~u64(0);
// Where the fake layout starts; a nonzero base keeps "address 0" meaning "unrelocated".
inline constexpr u64 kFakeBase = 0x10000;

// Fake address of every section, indexed by SectionId: SHF_ALLOC sections are laid out one
// after another from kFakeBase (aligned, never overlapping, with a gap so that the end of
// one section is never the start of the next); every other section gets kNoAddress.
std::vector<u64> assign_fake_addresses(const elf::ObjectFile &obj);

struct DebugSection {
  std::string name; // ".debug_info", ...
  std::vector<u8> data;
};

// Copies of the object's non-empty .debug_* sections, relocated against `addr`. A section
// still marked SHF_COMPRESSED (gcc -gz=zlib, CONFIG_DEBUG_INFO_COMPRESSED) is inflated first:
// elf::read_object() already does that, but a model built in memory may not have.
//
// Relocated value = address(symbol's section) + st_value + addend, where the address of a
// non-SHF_ALLOC section is 0, as in a linked image (sh_addr of .debug_str is 0 in vmlinux
// too). That one rule covers both kinds of relocation GCC/gas emit in debug sections:
//  - R_X86_64_64 against .text.foo/.data.bar (+ addend): code/data addresses, which become
//    fake(.text.foo) + addend;
//  - R_X86_64_32 against the section symbol of .debug_str/.debug_line_str/.debug_abbrev/
//    .debug_line/.debug_rnglists/.debug_loclists/.debug_str_offsets/.debug_addr: offsets
//    into that section, which must stay plain offsets, hence address 0.
// Anything else (PC-relative, GOT, ...) has no meaning in DWARF and is reported as an Error.
Expected<std::vector<DebugSection>> prepare_debug_sections(const elf::ObjectFile &obj, const std::vector<u64> &addr);

// The Dwarf_Obj_Access_Interface over prepared sections. Must outlive the Dwarf_Debug
// opened on it (libdwarf keeps pointers to the interface and to the section bytes).
class ObjectAccess {
public:
  explicit ObjectAccess(std::vector<DebugSection> sections);
  ObjectAccess(const ObjectAccess &) = delete;
  ObjectAccess &operator=(const ObjectAccess &) = delete;

  Dwarf_Obj_Access_Interface *interface() { return &iface_; }

private:
  static int get_section_info(void *obj, Dwarf_Half idx, Dwarf_Obj_Access_Section *out, int *err);
  static Dwarf_Endianness get_byte_order(void *obj);
  static Dwarf_Small get_length_size(void *obj);
  static Dwarf_Small get_pointer_size(void *obj);
  static Dwarf_Unsigned get_section_count(void *obj);
  static int load_section(void *obj, Dwarf_Half idx, Dwarf_Small **data, int *err);

  // sections_[0] is an empty null section: libdwarf, like ELF, treats index 0 as reserved.
  std::vector<DebugSection> sections_;
  Dwarf_Obj_Access_Methods methods_{};
  Dwarf_Obj_Access_Interface iface_{};
};

// dwarf_object_init_b on `access`; `file` is used in messages.
Expected<Debug> open_object(ObjectAccess &access, const std::string &file);

// A relocatable object's DWARF, open: its debug sections relocated to `addr`
// (prepare_debug_sections), the access interface over them, and the Dwarf_Debug, which is
// finished before the sections go (members are destroyed in reverse order). Not movable:
// libdwarf keeps pointers into `access`.
struct OpenObject {
  explicit OpenObject(std::vector<DebugSection> sections) : access(std::move(sections)) {}
  ObjectAccess access;
  std::optional<Debug> dbg;
};
Expected<std::unique_ptr<OpenObject>> open_object_dwarf(const elf::ObjectFile &obj, const std::vector<u64> &addr);

} // namespace kpg::dwarf::detail
