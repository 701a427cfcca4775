// SPDX-License-Identifier: GPL-2.0-only
#include "builder/postlink.h"

#include <cstring>
#include <fmt/format.h>
#include <map>
#include <set>

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

// objtool's .call_sites (6.12, call depth tracking): one s32 per direct call, `.long insn - .`
// (R_X86_64_PC32 against the call's section + its offset). The module loader's
// callthunks_patch_module_calls() decodes each call before livepatch relocations are applied;
// a call through a livepatch relocation still reads `call +0` then, whose "destination" (the
// next instruction) has no padding: "Invalid padding area for ..." in the kernel log, and no
// accounting thunk. Those entries go: the call keeps working, without call depth accounting,
// as calls from any code that objtool did not annotate. Returns how many were removed.
static Expected<size_t> drop_klp_call_sites(elf::ObjectFile &ko, const std::set<std::pair<u32, u64>> &klp_sites) {
  auto cs = ko.find_section(".call_sites");
  if (!cs)
    return size_t{0};
  elf::Section &c = ko.sections[*cs];
  Location where(ko.path);
  if (c.size % 4 || c.data.size() != c.size)
    return make_error(where.with_section(c.name), "size is not a multiple of 4");
  std::map<u64, elf::Reloc> by_off;
  for (const elf::Reloc &r : c.relocs)
    by_off.emplace(r.offset, r);
  std::vector<u8> data;
  std::vector<elf::Reloc> relocs;
  size_t removed = 0;
  for (u64 e = 0; e < c.size; e += 4) {
    auto r = by_off.find(e);
    if (r == by_off.end() || r->second.type != R_X86_64_PC32)
      return make_error(where.with_section(c.name, e), "entry without its R_X86_64_PC32 relocation");
    const elf::Symbol &sym = ko.symbols[r->second.sym];
    if (sym.section) {
      // The call instruction (e8 + rel32): its field, where a livepatch relocation applies, is
      // one byte further.
      u64 insn = sym.value + static_cast<u64>(r->second.addend);
      if (klp_sites.count({to_index(*sym.section), insn + 1})) {
        removed++;
        continue;
      }
    }
    elf::Reloc kept = r->second;
    kept.offset = data.size();
    relocs.push_back(kept);
    data.insert(data.end(), c.data.begin() + static_cast<std::ptrdiff_t>(e), c.data.begin() + static_cast<std::ptrdiff_t>(e + 4));
  }
  c.data = std::move(data);
  c.size = c.data.size();
  c.relocs = std::move(relocs);
  return removed;
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
    std::set<std::pair<u32, u64>> klp_sites;                     // (section, offset)
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
      // A shadow of this record (klp_format.h: the same type, symbol and addend, for objtool)
      // goes; any other relocation here would be applied twice.
      for (auto r = s.relocs.begin(); r != s.relocs.end(); ++r) {
        if (r->offset != off)
          continue;
        if (r->sym != ksym || r->type != type || r->addend != target->second->addend)
          return make_error(file.with_section(s.name, off), "a normal relocation already applies at this place");
        s.relocs.erase(r);
        st.shadows_removed++;
        break;
      }
      klp_sites.insert({to_index(sec), off});
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
    if (auto c = drop_klp_call_sites(ko, klp_sites); !c)
      return std::move(c).take_error();
    else
      st.call_sites_removed = *c;
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
