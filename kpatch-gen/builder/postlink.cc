// SPDX-License-Identifier: GPL-2.0-only
#include "builder/postlink.h"

#include <cstring>
#include <fmt/format.h>
#include <map>

#include "diff/klp_format.h"
#include "elf/edit.h"

namespace kpg::build {

using elf::SectionId;
using elf::SymbolId;

// ".klp.sym.vmlinux.saved_command_line,0" -> "vmlinux"
static std::string klp_sym_object(const std::string &name) {
  std::string rest = name.substr(std::strlen(diff::KLP_SYM_PREFIX));
  return rest.substr(0, rest.find('.'));
}

Expected<PostLinkStats> post_link(elf::ObjectFile &ko, const std::string &manifest_json) {
  PostLinkStats st;
  Location file(ko.path);
  auto table = ko.find_section(diff::KLP_RELOCS_SECTION);
  if (table) {
    const elf::Section &t = ko.sections[*table];
    if (t.size % diff::KLP_RELOC_RECORD_SIZE)
      return make_error(file.with_section(t.name), "size is not a multiple of the record size");
    std::map<u64, const elf::Reloc *> by_off;
    for (const elf::Reloc &r : t.relocs)
      by_off[r.offset] = &r;
    std::map<std::pair<std::string, u32>, size_t> extra_index; // (name, target) -> extra_relocs index
    for (u64 base = 0; base < t.size; base += diff::KLP_RELOC_RECORD_SIZE) {
      auto place = by_off.find(base), target = by_off.find(base + 8);
      if (place == by_off.end() || target == by_off.end() || place->second->type != R_X86_64_64 ||
          target->second->type != R_X86_64_64)
        return make_error(file.with_section(t.name, base), "record without its two R_X86_64_64 relocations");
      u32 type;
      std::memcpy(&type, t.data.data() + base + 16, 4);
      const elf::Symbol &ps = ko.symbols[place->second->sym];
      if (!ps.section)
        return make_error(file.with_section(t.name, base), "record's place is not in a section");
      SectionId sec = *ps.section;
      u64 off = ps.value + static_cast<u64>(place->second->addend);
      SymbolId ksym = target->second->sym;
      const std::string &kname = ko.symbols[ksym].name;
      if (kname.rfind(diff::KLP_SYM_PREFIX, 0) != 0)
        return make_error(file.with_section(t.name, base), fmt::format("record's symbol '{}' is not a .klp.sym", kname));
      elf::Section &s = ko.sections[sec];
      if (off + 4 > s.size)
        return make_error(file.with_section(s.name, off), "livepatch relocation outside its section");
      for (const elf::Reloc &r : s.relocs)
        if (r.offset == off)
          return make_error(file.with_section(s.name, off), "a normal relocation already applies at this place");
      // 6.1's apply_relocate_add() refuses a non-zero location ("Skipping invalid relocation
      // target, existing value is nonzero").
      for (u64 w = 0; w < (type == R_X86_64_64 ? 8u : 4u) && off + w < s.data.size(); w++)
        if (s.data[off + w] != 0)
          return make_error(file.with_section(s.name, off), "livepatch relocation target is not zero");
      std::string obj = klp_sym_object(kname);
      std::string relname = std::string(diff::KLP_RELA_PREFIX) + obj + "." + s.name;
      auto key = std::make_pair(relname, to_index(sec));
      auto it = extra_index.find(key);
      if (it == extra_index.end()) {
        ko.extra_relocs.push_back(elf::ExtraRelocSection{relname, SHF_ALLOC | SHF_INFO_LINK | elf::SHF_RELA_LIVEPATCH, sec, {}});
        it = extra_index.emplace(key, ko.extra_relocs.size() - 1).first;
        st.klp_sections++;
      }
      ko.extra_relocs[it->second].relocs.push_back(elf::Reloc{off, type, ksym, target->second->addend});
      st.klp_relocs++;
    }
    // The records are converted; the table and its relocations go, and the .klp.sym
    // symbols become livepatch symbols (resolved by klp_resolve_symbols(), not the linker).
    if (auto r = elf::remove_sections(ko, [&](SectionId s) { return s == *table; }); !r) {
      // The table's own relocations still point at the .klp.sym symbols: clear them first.
      return std::move(r).take_error();
    }
    for (elf::Symbol &s : ko.symbols)
      if (s.name.rfind(diff::KLP_SYM_PREFIX, 0) == 0 && !s.section) {
        s.special_shndx = elf::SHN_LIVEPATCH;
        s.bind = STB_GLOBAL;
        st.klp_symbols++;
      }
  }
  // Debug info of the generated C file: not needed at run time, and it records build paths.
  if (auto r = elf::remove_sections(ko,
                                    [&](SectionId s) {
                                      const std::string &n = ko.sections[s].name;
                                      return n.rfind(".debug_", 0) == 0 || n == MANIFEST_SECTION;
                                    });
      !r)
    return std::move(r).take_error();
  elf::Section m;
  m.name = MANIFEST_SECTION;
  m.type = SHT_PROGBITS;
  m.flags = 0;
  m.addralign = 1;
  m.data.assign(manifest_json.begin(), manifest_json.end());
  m.size = m.data.size();
  ko.add_section(std::move(m));
  return st;
}

} // namespace kpg::build
