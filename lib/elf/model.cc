// SPDX-License-Identifier: GPL-2.0-only
#include "elf/model.h"

namespace kpg::elf {

std::optional<SectionId> ObjectFile::find_section(std::string_view name) const {
  for (SectionId id : sections.ids())
    if (sections[id].name == name)
      return id;
  return std::nullopt;
}

std::optional<SymbolId> ObjectFile::find_symbol(std::string_view name) const {
  for (SymbolId id : symbols.ids())
    if (to_index(id) != 0 && symbols[id].name == name && !symbols[id].is_section())
      return id;
  return std::nullopt;
}

std::optional<SymbolId> ObjectFile::section_symbol(SectionId sec) const {
  for (SymbolId id : symbols.ids())
    if (symbols[id].is_section() && symbols[id].section == sec)
      return id;
  return std::nullopt;
}

std::string ObjectFile::symbol_name(SymbolId id) const {
  const Symbol &s = symbols[id];
  if (s.is_section() && s.name.empty() && s.section)
    return sections[*s.section].name;
  return s.name;
}

const char *section_type_name(u32 type) {
  switch (type) {
  case SHT_NULL: return "NULL";
  case SHT_PROGBITS: return "PROGBITS";
  case SHT_SYMTAB: return "SYMTAB";
  case SHT_STRTAB: return "STRTAB";
  case SHT_RELA: return "RELA";
  case SHT_HASH: return "HASH";
  case SHT_DYNAMIC: return "DYNAMIC";
  case SHT_NOTE: return "NOTE";
  case SHT_NOBITS: return "NOBITS";
  case SHT_REL: return "REL";
  case SHT_DYNSYM: return "DYNSYM";
  case SHT_INIT_ARRAY: return "INIT_ARRAY";
  case SHT_FINI_ARRAY: return "FINI_ARRAY";
  case SHT_PREINIT_ARRAY: return "PREINIT_ARRAY";
  case SHT_GROUP: return "GROUP";
  case SHT_SYMTAB_SHNDX: return "SYMTAB_SHNDX";
  case SHT_X86_64_UNWIND: return "X86_64_UNWIND";
  default: return "UNKNOWN";
  }
}

const char *symbol_type_name(u8 type) {
  switch (type) {
  case STT_NOTYPE: return "NOTYPE";
  case STT_OBJECT: return "OBJECT";
  case STT_FUNC: return "FUNC";
  case STT_SECTION: return "SECTION";
  case STT_FILE: return "FILE";
  case STT_COMMON: return "COMMON";
  case STT_TLS: return "TLS";
  case STT_GNU_IFUNC: return "IFUNC";
  default: return "UNKNOWN";
  }
}

const char *symbol_bind_name(u8 bind) {
  switch (bind) {
  case STB_LOCAL: return "LOCAL";
  case STB_GLOBAL: return "GLOBAL";
  case STB_WEAK: return "WEAK";
  case STB_GNU_UNIQUE: return "UNIQUE";
  default: return "UNKNOWN";
  }
}

unsigned x86_64_reloc_width(u32 type) {
  switch (type) {
  case R_X86_64_64:
  case R_X86_64_PC64:
    return 8;
  case R_X86_64_32:
  case R_X86_64_32S:
  case R_X86_64_PC32:
  case R_X86_64_PLT32:
  case R_X86_64_GOTPCREL:
  case R_X86_64_GOTPCRELX:
  case R_X86_64_REX_GOTPCRELX:
    return 4;
  case R_X86_64_16:
  case R_X86_64_PC16:
    return 2;
  case R_X86_64_8:
  case R_X86_64_PC8:
    return 1;
  default:
    return 0;
  }
}

const char *x86_64_reloc_name(u32 type) {
  switch (type) {
  case R_X86_64_NONE: return "R_X86_64_NONE";
  case R_X86_64_64: return "R_X86_64_64";
  case R_X86_64_PC32: return "R_X86_64_PC32";
  case R_X86_64_GOT32: return "R_X86_64_GOT32";
  case R_X86_64_PLT32: return "R_X86_64_PLT32";
  case R_X86_64_GOTPCREL: return "R_X86_64_GOTPCREL";
  case R_X86_64_32: return "R_X86_64_32";
  case R_X86_64_32S: return "R_X86_64_32S";
  case R_X86_64_16: return "R_X86_64_16";
  case R_X86_64_PC16: return "R_X86_64_PC16";
  case R_X86_64_8: return "R_X86_64_8";
  case R_X86_64_PC8: return "R_X86_64_PC8";
  case R_X86_64_PC64: return "R_X86_64_PC64";
  case R_X86_64_GOTPCRELX: return "R_X86_64_GOTPCRELX";
  case R_X86_64_REX_GOTPCRELX: return "R_X86_64_REX_GOTPCRELX";
  default: return "R_X86_64_?";
  }
}

} // namespace kpg::elf
