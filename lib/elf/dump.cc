// SPDX-License-Identifier: GPL-2.0-only
#include "elf/dump.h"

#include <fmt/format.h>

namespace kpg::elf {

std::string section_flags_string(u64 flags) {
  static const struct {
    u64 bit;
    char c;
  } letters[] = {{SHF_WRITE, 'W'},      {SHF_ALLOC, 'A'},   {SHF_EXECINSTR, 'X'}, {SHF_MERGE, 'M'},
                 {SHF_STRINGS, 'S'},    {SHF_INFO_LINK, 'I'}, {SHF_LINK_ORDER, 'L'}, {SHF_OS_NONCONFORMING, 'O'},
                 {SHF_GROUP, 'G'},      {SHF_TLS, 'T'},     {SHF_EXCLUDE, 'E'},   {SHF_RELA_LIVEPATCH, 'o'}};
  std::string s;
  for (auto &l : letters)
    if (flags & l.bit)
      s += l.c;
  return s;
}

static std::string section_of(const ObjectFile &obj, const Symbol &s) {
  if (s.section)
    return obj.sections[*s.section].name;
  switch (s.special_shndx) {
  case SHN_UNDEF: return "UND";
  case SHN_ABS: return "ABS";
  case SHN_COMMON: return "COM";
  case SHN_LIVEPATCH: return "LIVEPATCH";
  default: return fmt::format("0x{:x}", s.special_shndx);
  }
}

static void dump_relocs(std::string &out, const ObjectFile &obj, const std::string &title,
                        const std::vector<Reloc> &relocs) {
  out += fmt::format("relocations {} ({}):\n", title, relocs.size());
  for (const Reloc &r : relocs) {
    const char *tn = obj.header.machine == EM_X86_64 ? x86_64_reloc_name(r.type) : "?";
    out += fmt::format("  0x{:06x} {:<22} {}{:+#x}\n", r.offset, tn, obj.symbol_name(r.sym), r.addend);
  }
}

std::string dump(const ObjectFile &obj, const DumpOptions &opts) {
  std::string out;
  out += fmt::format("file: type={} machine={} flags=0x{:x}\n", obj.header.type, obj.header.machine, obj.header.flags);
  if (opts.sections) {
    out += fmt::format("sections ({}):\n", obj.sections.size());
    for (SectionId id : obj.sections.ids()) {
      const Section &s = obj.sections[id];
      out += fmt::format("  [{:>4}] {:<40} {:<12} {:<4} size=0x{:x} align={} entsize={}", to_index(id), s.name,
                         section_type_name(s.type), section_flags_string(s.flags), s.size, s.addralign, s.entsize);
      if (s.link)
        out += fmt::format(" link={}", obj.sections[*s.link].name);
      if (s.type == SHT_GROUP) {
        out += fmt::format(" signature={} flags=0x{:x} members=", obj.symbol_name(*s.group_signature), s.group_flags);
        for (SectionId m : s.group_members)
          out += obj.sections[m].name + ",";
      }
      out += "\n";
      if (opts.contents && !s.data.empty()) {
        for (size_t i = 0; i < s.data.size(); i += 16) {
          out += fmt::format("        {:06x}:", i);
          for (size_t j = i; j < i + 16 && j < s.data.size(); j++)
            out += fmt::format(" {:02x}", s.data[j]);
          out += "\n";
        }
      }
    }
  }
  if (opts.symbols) {
    out += fmt::format("symbols ({}):\n", obj.symbols.size());
    for (SymbolId id : obj.symbols.ids()) {
      const Symbol &s = obj.symbols[id];
      out += fmt::format("  [{:>5}] {:<7} {:<6} {:<16} 0x{:06x} size={:<6} {}\n", to_index(id), symbol_type_name(s.type),
                         symbol_bind_name(s.bind), section_of(obj, s), s.value, s.size, obj.symbol_name(id));
    }
  }
  if (opts.relocations) {
    for (SectionId id : obj.sections.ids()) {
      const Section &s = obj.sections[id];
      if (!s.relocs.empty())
        dump_relocs(out, obj, "for " + s.name, s.relocs);
    }
    for (const ExtraRelocSection &x : obj.extra_relocs)
      dump_relocs(out, obj, x.name + " for " + obj.sections[x.target].name, x.relocs);
  }
  return out;
}

} // namespace kpg::elf
