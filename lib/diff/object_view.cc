// SPDX-License-Identifier: GPL-2.0-only
#include "diff/object_view.h"

#include <algorithm>
#include <fmt/format.h>
#include <unordered_map>

#include "diff/special_sections.h"

namespace kpg::diff {

bool is_pc_relative(u32 t) {
  return t == R_X86_64_PC32 || t == R_X86_64_PLT32 || t == R_X86_64_PC64 || t == R_X86_64_GOTPCREL ||
         t == R_X86_64_GOTPCRELX || t == R_X86_64_REX_GOTPCRELX || t == R_X86_64_PC16 || t == R_X86_64_PC8;
}

static SymRole role_of(const elf::Symbol &s, const DecodedName &n) {
  if (s.is_file())
    return SymRole::File;
  if (s.is_section())
    return SymRole::SectionSym;
  if (!s.section)
    return s.special_shndx == SHN_UNDEF ? SymRole::Undefined : SymRole::Absolute;
  if (s.type == STT_FUNC && s.name.starts_with("__pfx_"))
    return SymRole::Prefix;
  if (s.type == STT_FUNC || s.type == STT_GNU_IFUNC)
    return n.is_cold ? SymRole::ColdPart : SymRole::Function;
  if (s.is_object())
    return SymRole::Object;
  if (s.type == STT_NOTYPE)
    return SymRole::Label;
  return SymRole::None;
}

ObjectView::ObjectView(const elf::ObjectFile &obj, const disasm::Decoder &dec, const SpecialTable &table)
    : obj_(obj), dec_(dec), table_(table) {
  {
    std::unordered_map<std::string_view, size_t> wanted;
    for (const SpecialSection &s : table_)
      for (const std::string *n : {&s.name, &s.aux_section})
        if (!n->empty() && wanted.emplace(*n, special_.size()).second)
          special_.emplace_back(*n, std::nullopt);
    for (SectionId id : obj.sections.ids()) {
      auto it = wanted.find(obj.sections[id].name);
      if (it != wanted.end() && !special_[it->second].second)
        special_[it->second].second = id;
    }
    rows_.resize(table_.size());
    std::vector<size_t> prefix_rows;
    for (size_t r = 0; r < table_.size(); r++) {
      if (table_[r].is_prefix())
        prefix_rows.push_back(r);
      else if (auto it = wanted.find(table_[r].name); it != wanted.end() && special_[it->second].second)
        rows_[r].push_back(*special_[it->second].second);
    }
    // Prefix rows: "___ksymtab+" sections start with a character no ordinary section name
    // starts with, so the check per section is cheap.
    if (!prefix_rows.empty())
      for (SectionId id : obj.sections.ids())
        for (size_t r : prefix_rows)
          if (table_[r].matches(obj.sections[id].name))
            rows_[r].push_back(id);
  }
  const u32 nsyms = obj.symbols.size();
  facts_.resize(nsyms);
  by_section_.resize(obj.sections.size());
  std::unordered_map<std::string_view, int> block_name_count;
  bool any_cold = false;
  for (SymbolId id : obj.symbols.ids()) {
    if (to_index(id) == 0)
      continue;
    const elf::Symbol &s = obj.symbols[id];
    SymFacts &f = facts_[to_index(id)];
    f.name = decode_name(s.name);
    f.role = role_of(s, f.name);
    if (f.role == SymRole::File) {
      if (file_name_.empty())
        file_name_ = s.name;
      int n = ++block_name_count[s.name];
      block_names_.push_back(s.name);
      block_keys_.push_back(n == 1 ? s.name : fmt::format("{}#{}", s.name, n));
    }
    if (s.is_local() && f.role != SymRole::File)
      f.file_block = static_cast<u32>(block_names_.size() - 1);
    if (f.role == SymRole::Object && s.is_local()) {
      f.fresh_static = is_fresh_static(f.name.base());
      // __UNIQUE_ID_* and __BTF_ID__* end in digits too, but are no function-scope statics.
      f.static_local = f.name.has_number && !f.name.base().starts_with("__UNIQUE_ID") &&
                       !f.name.base().starts_with("__BTF_ID__");
      // Read-only: allocated, neither writable nor code, and not __initconst (the init rules
      // apply there). A patched function may use its own copy of such data; its state rules
      // (STATIC_LOCAL_REF_REMOVED, OBJECT_SIZE_CHANGED) are for writable statics only.
      if (f.static_local && s.section) {
        const elf::Section &sec = obj.sections[*s.section];
        f.read_only_local = sec.is_alloc() && !(sec.flags & (SHF_WRITE | SHF_EXECINSTR)) && sec.type != SHT_NOBITS &&
                            !is_init_section_name(sec.name) && !is_exit_section_name(sec.name);
        f.fresh_static = f.fresh_static || f.read_only_local;
      }
    }
    if ((f.role == SymRole::Function || f.role == SymRole::ColdPart || f.role == SymRole::Object ||
         f.role == SymRole::Label) &&
        s.section)
      by_section_[to_index(*s.section)].push_back(id);
    any_cold |= f.role == SymRole::ColdPart;
  }
  // Functions by name, for the cold parts' parents only: built when there is a cold part. A
  // hash table of every function with a vector each (and a vector per section for the
  // "bundled" count below) was a third of building the view of a 10,000-function unit that
  // has no .cold part at all (callgrind: 72.7M -> 47.0M instructions for both views).
  std::unordered_map<std::string_view, std::vector<SymbolId>> funcs_by_name;
  if (any_cold)
    for (SymbolId id : obj.symbols.ids())
      if (facts_[to_index(id)].role == SymRole::Function)
        funcs_by_name[obj.symbols[id].name].push_back(id);
  // foo.cold (or foo.cold.12) belongs to foo; with LTO-free GCC the parent is in the same object,
  // and in the same FILE block when foo is static (or is global, then in no block).
  auto parent_of = [&](std::string_view name, u32 block) -> std::optional<SymbolId> {
    auto it = funcs_by_name.find(name);
    if (it == funcs_by_name.end())
      return std::nullopt;
    for (SymbolId p : it->second)
      if (facts_[to_index(p)].file_block == block)
        return p;
    for (SymbolId p : it->second)
      if (!obj.symbols[p].is_local())
        return p;
    return it->second.front();
  };
  for (SymbolId id : obj.symbols.ids()) {
    SymFacts &f = facts_[to_index(id)];
    if (f.role != SymRole::ColdPart)
      continue;
    const std::string &n = obj.symbols[id].name;
    std::string_view parent = std::string_view(n).substr(0, n.find(".cold"));
    if (auto p = parent_of(parent, f.file_block)) {
      f.parent = p;
      cold_parts_[to_index(*p)].push_back(id);
    }
  }
  for (SectionId sid : obj.sections.ids()) {
    auto &v = by_section_[to_index(sid)];
    std::stable_sort(v.begin(), v.end(), [&](SymbolId a, SymbolId b) {
      const elf::Symbol &x = obj.symbols[a], &y = obj.symbols[b];
      if (x.value != y.value)
        return x.value < y.value;
      return x.size > y.size; // the sized symbol first when a label shares its address
    });
    // Bundled: exactly one sized function/object in the section (labels do not count).
    std::optional<SymbolId> only;
    size_t sized = 0;
    for (SymbolId s : v)
      if (facts_[to_index(s)].role != SymRole::Label) {
        sized++;
        only = s;
      }
    if (sized == 1)
      facts_[to_index(*only)].bundled = true;
  }
  sorted_relocs_.resize(obj.sections.size());
  auto by_offset = [](const elf::Reloc &a, const elf::Reloc &b) { return a.offset < b.offset; };
  for (SectionId sid : obj.sections.ids()) {
    const auto &relocs = obj.sections[sid].relocs;
    if (std::is_sorted(relocs.begin(), relocs.end(), by_offset)) {
      sorted_relocs_[to_index(sid)] = relocs;
      continue;
    }
    auto &copy = sorted_copies_.emplace_back(relocs);
    std::stable_sort(copy.begin(), copy.end(), by_offset);
    sorted_relocs_[to_index(sid)] = copy; // the vector's buffer does not move with its owner
  }
}

const std::vector<SectionId> &ObjectView::special_sections(const SpecialSection &spec) const {
  return rows_[static_cast<size_t>(&spec - table_.data())];
}

std::optional<SectionId> ObjectView::find_section(std::string_view name) const {
  for (const auto &[n, id] : special_)
    if (n == name)
      return id;
  return obj_.find_section(name);
}

std::optional<SymbolId> ObjectView::symbol_at(SectionId sec, u64 off) const {
  const auto &v = by_section_[to_index(sec)];
  if (v.empty())
    return std::nullopt;
  // Last symbol starting at or before off.
  auto it = std::upper_bound(v.begin(), v.end(), off, [&](u64 o, SymbolId s) { return o < obj_.symbols[s].value; });
  std::optional<SymbolId> best;
  // Prefer a sized symbol that contains off; scan back over symbols starting at the same
  // place or earlier ones that still contain it (objects never overlap in practice).
  for (auto jt = it; jt != v.begin();) {
    --jt;
    const elf::Symbol &s = obj_.symbols[*jt];
    if (off < s.value + std::max<u64>(s.size, 1) && facts_[to_index(*jt)].role != SymRole::Label)
      return *jt;
    if (!best && facts_[to_index(*jt)].role != SymRole::Label)
      best = *jt;
    // Labels inside a function (putuser.S's global __put_user_nocheck_1 inside __put_user_1)
    // have no size and must not end the search for the function that contains `off`.
    if (s.value + s.size < off && facts_[to_index(*jt)].role != SymRole::Label)
      break;
  }
  if (best) {
    const elf::Symbol &s = obj_.symbols[*best];
    // End pointer: &array[N] with nothing starting at that offset.
    bool something_starts_here = it != v.end() && obj_.symbols[*it].value == off;
    if (s.value + s.size == off && !something_starts_here)
      return best;
    // With -fdata-sections a section holds one object; any offset is about that object.
    if (facts_[to_index(*best)].bundled)
      return best;
  }
  if (it != v.begin() && facts_[to_index(*std::prev(it))].role == SymRole::Label)
    return *std::prev(it);
  return std::nullopt;
}

std::vector<ObjectView::RawBranch> ObjectView::raw_branches_out(SymbolId func) const {
  std::vector<RawBranch> out;
  const elf::Symbol &s = sym(func);
  if (facts(func).bundled || !sec(*s.section).is_exec())
    return out;
  for (const disasm::Insn &i : code_of(func).insns) {
    if (!i.branch_target || !relocs_in(*s.section, i.offset, i.end()).empty())
      continue;
    i64 t = *i.branch_target;
    if (t >= static_cast<i64>(s.value) && t < static_cast<i64>(s.value + s.size))
      continue;
    out.push_back(RawBranch{&i, t, branch_destination(*s.section, t)});
  }
  return out;
}

std::optional<SymbolId> ObjectView::branch_destination(SectionId sec, i64 off) const {
  if (off < 0)
    return std::nullopt;
  auto s = symbol_at(sec, static_cast<u64>(off));
  if (!s)
    return std::nullopt;
  const elf::Symbol &sym = obj_.symbols[*s];
  u64 o = static_cast<u64>(off);
  if (o >= sym.value && (o < sym.value + sym.size || (sym.size == 0 && o == sym.value)))
    return s;
  return std::nullopt;
}

std::span<const elf::Reloc> ObjectView::relocs_in(SectionId sec, u64 start, u64 end) const {
  std::span<const elf::Reloc> v = sorted_relocs_[to_index(sec)];
  auto lo = std::lower_bound(v.begin(), v.end(), start, [](const elf::Reloc &r, u64 o) { return r.offset < o; });
  auto hi = std::lower_bound(lo, v.end(), end, [](const elf::Reloc &r, u64 o) { return r.offset < o; });
  return {lo, hi};
}

const Insns &ObjectView::code(SectionId sec, u64 start, u64 end) const {
  const elf::Section &s = obj_.sections[sec];
  end = std::min<u64>(end, s.data.size());
  auto &slot = code_cache_[std::make_tuple(to_index(sec), start, end)];
  if (slot)
    return *slot;
  slot = std::make_unique<Insns>();
  if (!s.data.empty() && start < end) {
    std::span<const u8> bytes(s.data.data() + start, end - start);
    slot->insns = dec_.decode(bytes);
    // The decoder works in buffer coordinates; everything here is in section offsets. Branch
    // targets too: in a shared section (.sched.text, .text without -ffunction-sections) a
    // function starts at a non-zero offset and `call sched_inner` must land on its neighbour,
    // not `start` bytes before it.
    for (disasm::Insn &i : slot->insns) {
      i.offset += static_cast<u32>(start);
      if (i.branch_target)
        *i.branch_target += static_cast<i64>(start);
    }
  }
  return *slot;
}

const Insns &ObjectView::code_of(SymbolId func) const {
  const elf::Symbol &s = obj_.symbols[func];
  return code(*s.section, s.value, s.value + s.size);
}

const disasm::Insn *ObjectView::insn_at(SectionId sec, u64 off) const {
  const Insns *code_range = nullptr;
  if (auto f = symbol_at(sec, off); f && facts_[to_index(*f)].role != SymRole::Object) {
    const elf::Symbol &s = obj_.symbols[*f];
    if (off >= s.value && off < s.value + s.size)
      code_range = &code(sec, s.value, s.value + s.size);
  }
  if (!code_range)
    code_range = &code(sec, 0, obj_.sections[sec].size);
  const auto &v = code_range->insns;
  auto it = std::upper_bound(v.begin(), v.end(), off, [](u64 o, const disasm::Insn &i) { return o < i.offset; });
  if (it == v.begin())
    return nullptr;
  --it;
  return off < it->end() ? &*it : nullptr;
}

Target ObjectView::resolve(SectionId site_sec, const elf::Reloc &r) const {
  Target t;
  const elf::Symbol &s = obj_.symbols[r.sym];
  if (is_pc_relative(r.type) && obj_.sections[site_sec].is_exec()) {
    if (const disasm::Insn *i = insn_at(site_sec, r.offset))
      t.bias = static_cast<i64>(i->end()) - static_cast<i64>(r.offset);
    else
      t.bias = elf::x86_64_reloc_width(r.type); // not decodable: assume the field ends the instruction
  }
  if (!s.section) {
    t.kind = Target::Kind::Undefined;
    t.sym = r.sym;
    t.offset = r.addend + t.bias;
    return t;
  }
  SectionId sec = *s.section;
  i64 off = static_cast<i64>(s.value) + r.addend + t.bias;
  if (s.is_section() || facts_[to_index(r.sym)].role == SymRole::Label) {
    const elf::Section &ts = obj_.sections[sec];
    if (ts.is_strings()) {
      t.kind = Target::Kind::String;
      t.sym = r.sym;
      t.sec = sec;
      t.offset = off;
      return t;
    }
    if (off >= 0) {
      if (auto named = symbol_at(sec, static_cast<u64>(off)); named && facts_[to_index(*named)].role != SymRole::Label) {
        t.kind = Target::Kind::Symbol;
        t.sym = *named;
        t.offset = off - static_cast<i64>(obj_.symbols[*named].value);
        return t;
      }
    }
    t.kind = Target::Kind::Anonymous;
    t.sym = r.sym;
    t.sec = sec;
    t.offset = off;
    return t;
  }
  t.kind = Target::Kind::Symbol;
  t.sym = r.sym;
  t.offset = r.addend + t.bias;
  return t;
}

std::optional<SymbolId> ObjectView::target_symbol(SectionId site_sec, const elf::Reloc &r) const {
  const elf::Symbol &s = obj_.symbols[r.sym];
  if (!s.section)
    return std::nullopt;
  if (!s.is_section() && facts_[to_index(r.sym)].role != SymRole::Label)
    return r.sym; // resolve() gives the named symbol itself
  // Against a section (or a label in it): the target offset is value + addend + bias, where the
  // bias of a PC-relative field in code is at least its width. If the section holds a single
  // function/object that starts at or before the lowest possible target, symbol_at() gives that
  // symbol for any bias.
  const elf::Section &ts = obj_.sections[*s.section];
  const auto &v = by_section_[to_index(*s.section)];
  if (!ts.is_strings() && v.size() == 1 && facts_[to_index(v[0])].bundled) {
    i64 min_bias = is_pc_relative(r.type) && obj_.sections[site_sec].is_exec() ? elf::x86_64_reloc_width(r.type) : 0;
    if (static_cast<i64>(s.value) + r.addend + min_bias >= static_cast<i64>(obj_.symbols[v[0]].value))
      return v[0];
  }
  Target t = resolve(site_sec, r);
  if (t.kind == Target::Kind::Symbol)
    return t.sym;
  return std::nullopt;
}

std::string_view ObjectView::string_at(SectionId sec, u64 off) const {
  const auto &d = obj_.sections[sec].data;
  if (off >= d.size())
    return {};
  // References point at the start of a string (GCC emits one label per literal); tail
  // merging only happens at link time.
  u64 start = off;
  u64 end = off;
  while (end < d.size() && d[end] != 0)
    end++;
  return std::string_view(reinterpret_cast<const char *>(d.data()) + start, end - start);
}

std::string ObjectView::describe(const Target &t) const {
  auto off = [](i64 o) { return o == 0 ? std::string() : (o > 0 ? fmt::format("+0x{:x}", o) : fmt::format("-0x{:x}", -o)); };
  switch (t.kind) {
  case Target::Kind::Symbol:
    return obj_.symbol_name(t.sym) + off(t.offset);
  case Target::Kind::Undefined:
    return obj_.symbol_name(t.sym) + off(t.offset) + " (undefined)";
  case Target::Kind::String: {
    std::string out = "\"";
    for (char c : string_at(t.sec, static_cast<u64>(std::max<i64>(t.offset, 0)))) {
      if (out.size() > 60) {
        out += "...";
        break;
      }
      if (c == '\n')
        out += "\\n";
      else if (c == '"' || c == '\\')
        out += std::string("\\") + c;
      else if (static_cast<unsigned char>(c) < 0x20)
        out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
      else
        out += c;
    }
    return out + "\"";
  }
  case Target::Kind::Anonymous:
    return obj_.sections[t.sec].name + off(t.offset);
  }
  return "?";
}

} // namespace kpg::diff
