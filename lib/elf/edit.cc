// SPDX-License-Identifier: GPL-2.0-only
#include "elf/edit.h"

#include <fmt/format.h>

namespace kpg::elf {

Expected<void> remove_symbols(ObjectFile &obj, const std::function<bool(SymbolId)> &drop) {
  std::vector<std::optional<SymbolId>> map(obj.symbols.size());
  IdVector<SymbolId, Symbol> kept;
  for (SymbolId id : obj.symbols.ids()) {
    if (to_index(id) != 0 && drop(id))
      continue;
    map[to_index(id)] = kept.push_back(obj.symbols[id]);
  }
  auto remap = [&](SymbolId s, const std::string &where) -> Expected<SymbolId> {
    if (!map[to_index(s)])
      return make_error(Location(obj.path).with_section(where),
                        fmt::format("still refers to removed symbol '{}'", obj.symbol_name(s)));
    return *map[to_index(s)];
  };
  // Check everything before changing anything.
  for (const Section &s : obj.sections) {
    for (const Reloc &r : s.relocs)
      if (auto m = remap(r.sym, s.name); !m)
        return std::move(m).take_error();
    if (s.group_signature)
      if (auto m = remap(*s.group_signature, s.name); !m)
        return std::move(m).take_error();
  }
  for (const ExtraRelocSection &x : obj.extra_relocs)
    for (const Reloc &r : x.relocs)
      if (auto m = remap(r.sym, x.name); !m)
        return std::move(m).take_error();
  for (Section &s : obj.sections) {
    for (Reloc &r : s.relocs)
      r.sym = *map[to_index(r.sym)];
    if (s.group_signature)
      s.group_signature = *map[to_index(*s.group_signature)];
  }
  for (ExtraRelocSection &x : obj.extra_relocs)
    for (Reloc &r : x.relocs)
      r.sym = *map[to_index(r.sym)];
  obj.symbols = std::move(kept);
  return {};
}

Expected<void> remove_sections(ObjectFile &obj, const std::function<bool(SectionId)> &drop) {
  std::vector<bool> gone(obj.sections.size(), false);
  for (SectionId id : obj.sections.ids())
    gone[to_index(id)] = drop(id);
  for (SymbolId id : obj.symbols.ids()) {
    const Symbol &s = obj.symbols[id];
    if (s.section && gone[to_index(*s.section)] && !s.is_section())
      return make_error(Location(obj.path).with_symbol(s.name),
                        fmt::format("is defined in section '{}', which is being removed", obj.sections[*s.section].name));
  }
  for (SectionId id : obj.sections.ids()) {
    if (gone[to_index(id)])
      continue;
    const Section &s = obj.sections[id];
    if (s.link && gone[to_index(*s.link)])
      return make_error(Location(obj.path).with_section(s.name), "sh_link refers to a section being removed");
    for (SectionId m : s.group_members)
      if (gone[to_index(m)])
        return make_error(Location(obj.path).with_section(s.name), "group member is being removed");
    for (const Reloc &r : s.relocs) {
      const Symbol &t = obj.symbols[r.sym];
      if (t.section && gone[to_index(*t.section)])
        return make_error(Location(obj.path).with_section(s.name, r.offset),
                          fmt::format("relocation refers to section '{}', which is being removed",
                                      obj.sections[*t.section].name));
    }
  }
  for (const ExtraRelocSection &x : obj.extra_relocs)
    for (const Reloc &r : x.relocs) {
      const Symbol &t = obj.symbols[r.sym];
      if (t.section && gone[to_index(*t.section)] && !gone[to_index(x.target)])
        return make_error(Location(obj.path).with_section(x.name), "relocation refers to a section being removed");
    }
  // Relocations that apply to removed sections go with them; then the section symbols of
  // removed sections (remaining relocations to them were checked above).
  for (SectionId id : obj.sections.ids())
    if (gone[to_index(id)])
      obj.sections[id].relocs.clear();
  std::erase_if(obj.extra_relocs, [&](const ExtraRelocSection &x) { return gone[to_index(x.target)]; });
  if (auto r = remove_symbols(obj, [&](SymbolId id) {
        const Symbol &s = obj.symbols[id];
        return s.is_section() && s.section && gone[to_index(*s.section)];
      });
      !r)
    return r;
  std::vector<std::optional<SectionId>> map(obj.sections.size());
  IdVector<SectionId, Section> kept;
  for (SectionId id : obj.sections.ids())
    if (!gone[to_index(id)])
      map[to_index(id)] = kept.push_back(std::move(obj.sections[id]));
  for (Section &s : kept) {
    if (s.link)
      s.link = *map[to_index(*s.link)];
    for (SectionId &m : s.group_members)
      m = *map[to_index(m)];
  }
  for (Symbol &s : obj.symbols)
    if (s.section)
      s.section = *map[to_index(*s.section)];
  std::vector<ExtraRelocSection> extras;
  for (ExtraRelocSection &x : obj.extra_relocs)
    if (!gone[to_index(x.target)]) {
      x.target = *map[to_index(x.target)];
      extras.push_back(std::move(x));
    }
  obj.extra_relocs = std::move(extras);
  obj.sections = std::move(kept);
  return {};
}

} // namespace kpg::elf
