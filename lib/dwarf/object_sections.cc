// SPDX-License-Identifier: GPL-2.0-only
#include "dwarf/object_sections.h"

#include "dwarf/dwarf.h"

#include <elf.h>
#include <zlib.h>

#include <cstring>
#include <fmt/format.h>
#include <limits>

// libdwarf 20210528 internal (exported, declared in its private dwarf_opaque.h). Its ELF
// reader stores a "get section flags" callback here on every dwarf_init_b() and never clears
// it; _dwarf_setup() then calls it for *any* later Dwarf_Debug, including one opened with
// dwarf_object_init_b(), passing our ObjectAccess* as if it were libdwarf's ELF-reader object.
// The result is garbage section indexes (DW_DLE_SECTION_INDEX_BAD) or worse, but only after a
// struct_sizes()/compile_units() call in the same process. open_object() clears it for the
// duration of the init (the hook is only used there), under init_mutex().
extern "C" int (*_dwarf_get_elf_flags_func_ptr)(void *, Dwarf_Half, Dwarf_Unsigned *, Dwarf_Unsigned *, int *);

namespace kpg::dwarf::detail {

namespace {

u64 align_up(u64 v, u64 a) { return a <= 1 ? v : (v + a - 1) / a * a; }

// Gap between fake sections. Line-table sequences and DW_AT_high_pc are one past the end of
// their code; with a gap, "one past the end of .text.foo" is never "the start of .text.bar".
constexpr u64 kGap = 16;

bool is_debug_section(const elf::Section &s) {
  return !s.is_alloc() && s.type != SHT_NOBITS && s.name.starts_with(".debug_");
}

Expected<std::vector<u8>> decompress(const elf::ObjectFile &obj, const elf::Section &s) {
  Location loc = Location(obj.path).with_section(s.name);
  if (s.data.size() < sizeof(Elf64_Chdr))
    return make_error(loc, "SHF_COMPRESSED section is smaller than its compression header");
  Elf64_Chdr ch;
  std::memcpy(&ch, s.data.data(), sizeof ch);
  if (ch.ch_type != ELFCOMPRESS_ZLIB)
    return make_error(loc, fmt::format("unsupported compression type {} (only zlib, as from -gz=zlib)", ch.ch_type));
  // zlib's best ratio is about 1032:1; anything claiming more is corrupt, and refusing it keeps
  // a garbled header from asking for an absurd allocation.
  u64 in_size = s.data.size() - sizeof ch;
  if (ch.ch_size > (in_size + 1) * 1032 || ch.ch_size > std::numeric_limits<uLongf>::max())
    return make_error(loc, fmt::format("implausible uncompressed size 0x{:x} for 0x{:x} compressed bytes", ch.ch_size, in_size));
  std::vector<u8> out(ch.ch_size);
  uLongf out_len = static_cast<uLongf>(ch.ch_size);
  int rc = uncompress(out.data(), &out_len, s.data.data() + sizeof ch, static_cast<uLong>(in_size));
  if (rc != Z_OK || out_len != ch.ch_size)
    return make_error(loc, fmt::format("cannot decompress (zlib error {})", rc));
  return out;
}

template <typename T> void put(std::vector<u8> &d, u64 off, T v) { std::memcpy(d.data() + off, &v, sizeof v); }

Expected<void> relocate(const elf::ObjectFile &obj, const elf::Section &s, std::vector<u8> &data,
                        const std::vector<u64> &addr) {
  for (const elf::Reloc &r : s.relocs) {
    auto fail = [&](const std::string &msg) {
      return make_error(Location(obj.path).with_section(s.name, r.offset), msg);
    };
    if (!obj.symbols.contains(r.sym))
      return fail(fmt::format("relocation refers to symbol {}, which does not exist", to_index(r.sym)));
    const elf::Symbol &sym = obj.symbols[r.sym];
    u64 sym_addr = 0;
    if (sym.section) {
      u64 a = to_index(*sym.section) < addr.size() ? addr[to_index(*sym.section)] : kNoAddress;
      sym_addr = (a == kNoAddress ? 0 : a) + sym.value;
    } else if (sym.special_shndx == SHN_ABS) {
      sym_addr = sym.value;
    } // undefined: 0, as a static link would leave an unresolved weak reference
    u64 value = sym_addr + static_cast<u64>(r.addend);
    unsigned width = 0;
    switch (r.type) {
    case R_X86_64_NONE:
      continue;
    case R_X86_64_64:
      width = 8;
      break;
    case R_X86_64_32:
      if (value > std::numeric_limits<u32>::max())
        return fail(fmt::format("R_X86_64_32 value 0x{:x} against {} does not fit", value, obj.symbol_name(r.sym)));
      width = 4;
      break;
    case R_X86_64_32S: {
      i64 sv = static_cast<i64>(value);
      if (sv < std::numeric_limits<i32>::min() || sv > std::numeric_limits<i32>::max())
        return fail(fmt::format("R_X86_64_32S value 0x{:x} against {} does not fit", value, obj.symbol_name(r.sym)));
      width = 4;
      break;
    }
    case R_X86_64_DTPOFF32:
    case R_X86_64_DTPOFF64:
      // DW_OP_const*u x@dtpoff for a __thread variable: the offset inside the TLS block.
      value = sym.value + static_cast<u64>(r.addend);
      width = r.type == R_X86_64_DTPOFF64 ? 8 : 4;
      break;
    default:
      return fail(fmt::format("unexpected relocation {} in a debug section", elf::x86_64_reloc_name(r.type)));
    }
    if (r.offset > data.size() || data.size() - r.offset < width)
      return fail(fmt::format("{}-byte relocation lies outside the section (size 0x{:x})", width, data.size()));
    if (width == 8)
      put<u64>(data, r.offset, value);
    else
      put<u32>(data, r.offset, static_cast<u32>(value));
  }
  return {};
}

} // namespace

std::vector<u64> assign_fake_addresses(const elf::ObjectFile &obj) {
  std::vector<u64> addr(obj.sections.size(), kNoAddress);
  u64 cursor = kFakeBase;
  for (elf::SectionId id : obj.sections.ids()) {
    const elf::Section &s = obj.sections[id];
    if (!s.is_alloc())
      continue;
    // Alignment is capped: a bogus huge sh_addralign must not push addresses off the end.
    u64 align = s.addralign > 1 && s.addralign <= 4096 ? s.addralign : 1;
    cursor = align_up(cursor, std::max<u64>(align, kGap));
    addr[to_index(id)] = cursor;
    cursor += std::max<u64>(s.size, 1) + kGap;
  }
  return addr;
}

Expected<std::vector<DebugSection>> prepare_debug_sections(const elf::ObjectFile &obj, const std::vector<u64> &addr) {
  std::vector<DebugSection> out;
  for (const elf::Section &s : obj.sections) {
    if (!is_debug_section(s) || s.data.empty() || !loads_debug_section(s.name))
      continue;
    DebugSection d{s.name, {}};
    if (s.flags & SHF_COMPRESSED) {
      auto dec = decompress(obj, s);
      if (!dec)
        return std::move(dec).take_error();
      d.data = std::move(*dec);
    } else {
      d.data = s.data;
    }
    if (auto r = relocate(obj, s, d.data, addr); !r)
      return std::move(r).take_error();
    out.push_back(std::move(d));
  }
  return out;
}

ObjectAccess::ObjectAccess(std::vector<DebugSection> sections) {
  sections_.reserve(sections.size() + 1);
  sections_.push_back(DebugSection{});
  for (DebugSection &s : sections)
    sections_.push_back(std::move(s));
  methods_.get_section_info = &ObjectAccess::get_section_info;
  methods_.get_byte_order = &ObjectAccess::get_byte_order;
  methods_.get_length_size = &ObjectAccess::get_length_size;
  methods_.get_pointer_size = &ObjectAccess::get_pointer_size;
  methods_.get_section_count = &ObjectAccess::get_section_count;
  methods_.load_section = &ObjectAccess::load_section;
  methods_.relocate_a_section = nullptr; // already relocated, against the fake layout
  iface_.object = this;
  iface_.methods = &methods_;
}

int ObjectAccess::get_section_info(void *obj, Dwarf_Half idx, Dwarf_Obj_Access_Section *out, int * /*err*/) {
  auto *self = static_cast<ObjectAccess *>(obj);
  if (idx >= self->sections_.size())
    return DW_DLV_NO_ENTRY;
  const DebugSection &s = self->sections_[idx];
  *out = Dwarf_Obj_Access_Section{};
  // Debug sections are not SHF_ALLOC: their address is 0 in a linked image and here (the
  // fake addresses only exist in the relocated values inside them).
  out->addr = 0;
  out->type = idx == 0 ? SHT_NULL : SHT_PROGBITS;
  out->size = s.data.size();
  out->name = s.name.c_str();
  return DW_DLV_OK;
}

Dwarf_Endianness ObjectAccess::get_byte_order(void *) { return DW_OBJECT_LSB; }
// The default offset size (32-bit DWARF; 64-bit DWARF units announce themselves).
Dwarf_Small ObjectAccess::get_length_size(void *) { return 4; }
Dwarf_Small ObjectAccess::get_pointer_size(void *) { return 8; }
Dwarf_Unsigned ObjectAccess::get_section_count(void *obj) { return static_cast<ObjectAccess *>(obj)->sections_.size(); }

int ObjectAccess::load_section(void *obj, Dwarf_Half idx, Dwarf_Small **data, int * /*err*/) {
  auto *self = static_cast<ObjectAccess *>(obj);
  if (idx == 0 || idx >= self->sections_.size())
    return DW_DLV_NO_ENTRY;
  *data = self->sections_[idx].data.data();
  return DW_DLV_OK;
}

Expected<Debug> open_object(ObjectAccess &access, const std::string &file) {
  Dwarf_Debug dbg = nullptr;
  Dwarf_Error e = nullptr;
  int rc = DW_DLV_ERROR;
  {
    std::lock_guard lock(init_mutex());
    auto *saved = _dwarf_get_elf_flags_func_ptr;
    _dwarf_get_elf_flags_func_ptr = nullptr;
    rc = dwarf_object_init_b(access.interface(), nullptr, nullptr, DW_GROUPNUMBER_ANY, &dbg, &e);
    _dwarf_get_elf_flags_func_ptr = saved;
  }
  if (rc == DW_DLV_NO_ENTRY)
    return make_error(Location(file).with_section(".debug_info"), "libdwarf finds no DWARF in the debug sections");
  if (rc != DW_DLV_OK) {
    std::string msg = e && dwarf_errmsg(e) ? dwarf_errmsg(e) : "unknown libdwarf error";
    if (e)
      dwarf_dealloc_error(dbg, e);
    return make_error(Location(file).with_section(".debug_info"), "cannot read DWARF: " + msg);
  }
  return Debug(dbg, Debug::Kind::Object);
}

Expected<std::unique_ptr<OpenObject>> open_object_dwarf(const elf::ObjectFile &obj, const std::vector<u64> &addr) {
  auto secs = prepare_debug_sections(obj, addr);
  if (!secs)
    return std::move(secs).take_error();
  auto open = std::make_unique<OpenObject>(std::move(*secs));
  auto dbg = open_object(open->access, obj.path);
  if (!dbg)
    return std::move(dbg).take_error();
  open->dbg.emplace(std::move(*dbg));
  return open;
}

} // namespace kpg::dwarf::detail
