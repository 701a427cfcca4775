// SPDX-License-Identifier: GPL-2.0-only
#include "diff/target.h"

#include <algorithm>
#include <fmt/format.h>
#include <span>
#include <sstream>
#include <string_view>
#include <unordered_set>

#include "diff/names.h"
#include "diff/special_sections.h"
#include "elf/reader.h"
#include "elf/sections.h"
#include "support/file.h"

namespace kpg::diff {

namespace {

// "vermagic=6.12.118+deb12-cloud-amd64 SMP ..." in a .modinfo image -> "6.12.118+deb12-cloud-amd64".
std::string vermagic_release(std::span<const u8> modinfo) {
  std::string_view all(reinterpret_cast<const char *>(modinfo.data()), modinfo.size());
  for (size_t pos = 0; pos < all.size();) {
    size_t end = all.find('\0', pos);
    std::string_view entry = all.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (entry.starts_with("vermagic="))
      return std::string(entry.substr(9, entry.find(' ') == std::string_view::npos ? std::string_view::npos
                                                                                    : entry.find(' ') - 9));
    if (end == std::string_view::npos)
      break;
    pos = end + 1;
  }
  return "";
}

// "Linux version 6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) ..." -> "6.1.0-57-cloud-amd64".
std::string banner_release(std::span<const u8> banner) {
  std::string_view b(reinterpret_cast<const char *>(banner.data()), banner.size());
  constexpr std::string_view prefix = "Linux version ";
  if (!b.starts_with(prefix))
    return "";
  b.remove_prefix(prefix.size());
  return std::string(b.substr(0, b.find_first_of(" \n", 0)));
}

} // namespace

Expected<TargetSymbols> TargetSymbols::load(const std::string &path) {
  elf::ReadOptions ro;
  ro.relocations = false;
  ro.section_data = false;
  auto obj = elf::read_object(path, ro);
  if (!obj)
    return std::move(obj).take_error();
  TargetSymbols t = from_object(*obj);
  // Only the bytes that say the release: the .modinfo of a module (a few hundred bytes), the
  // linux_banner string of a vmlinux (not its whole .rodata).
  if (!t.linked_) {
    if (obj->find_section(".modinfo"))
      if (auto mi = elf::read_section_bytes(path, ".modinfo"))
        t.release_ = vermagic_release(*mi);
  } else if (auto b = t.by_name_.find("linux_banner"); b != t.by_name_.end()) {
    const TargetSym &s = t.syms_[b->second.front()];
    if (auto bytes = elf::read_bytes_at_address(path, s.value, std::min<u64>(s.size ? s.size : 256, 256)))
      t.release_ = banner_release(*bytes);
  }
  return t;
}

TargetSymbols TargetSymbols::from_object(const elf::ObjectFile &o) {
  const elf::ObjectFile *obj = &o;
  TargetSymbols t;
  t.path_ = o.path;
  t.linked_ = obj->header.type == ET_EXEC || obj->header.type == ET_DYN;
  t.blocks_.push_back(FileBlock{"", 0, 0});
  u32 cur = 0;
  for (elf::SymbolId id : obj->symbols.ids()) {
    if (to_index(id) == 0)
      continue;
    const elf::Symbol &s = obj->symbols[id];
    if (s.is_file()) {
      t.blocks_[cur].last = static_cast<u32>(t.syms_.size());
      t.blocks_.push_back(FileBlock{s.name, static_cast<u32>(t.syms_.size()), 0});
      cur = static_cast<u32>(t.blocks_.size() - 1);
      continue;
    }
    if (s.is_section() || s.name.empty())
      continue;
    TargetSym ts;
    ts.name = s.name;
    ts.bind = s.bind;
    ts.type = s.type;
    ts.value = s.value;
    ts.size = s.size;
    ts.defined = s.section.has_value() || s.special_shndx == SHN_ABS;
    ts.init = s.section && is_init_section_name(obj->sections[*s.section].name);
    // Locals belong to the current FILE block; globals are listed after all locals in a
    // linked symtab and belong to no block.
    ts.file_block = s.is_local() ? cur : 0;
    ts.symtab_index = to_index(id);
    if (!s.is_local() && cur != 0) {
      t.blocks_[cur].last = static_cast<u32>(t.syms_.size());
      cur = 0;
    }
    t.by_name_[ts.name].push_back(static_cast<u32>(t.syms_.size()));
    t.syms_.push_back(std::move(ts));
  }
  if (cur != 0)
    t.blocks_[cur].last = static_cast<u32>(t.syms_.size());
  if (auto mi = o.find_section(".modinfo"); mi && !t.linked_ && !o.sections[*mi].data.empty())
    t.release_ = vermagic_release(o.sections[*mi].data);
  return t;
}

std::optional<u32> TargetSymbols::find_block(const std::string &file, const std::vector<std::string> &local_names,
                                             std::string *why) const {
  // Score each block with the same file name by how many of our locals it has. Real kernels
  // have many "core.c", "main.c", "inode.c": the local names tell them apart (the same idea as
  // kpatch's lookup, but reporting the best candidates instead of "couldn't find matching X.c
  // local symbols").
  struct Cand {
    u32 block;
    size_t hits;
    std::vector<std::string> missing;
  };
  std::vector<Cand> cands;
  std::vector<std::string> keys; // decoded once: a unit has thousands of locals, a block as many
  keys.reserve(local_names.size());
  for (const std::string &n : local_names)
    keys.push_back(decode_name(n).key);
  for (u32 b = 1; b < blocks_.size(); b++) {
    if (blocks_[b].file != file)
      continue;
    std::unordered_set<std::string> in_block; // names and decoded keys of the block's symbols
    for (u32 i = blocks_[b].first; i < blocks_[b].last; i++) {
      in_block.insert(syms_[i].name);
      in_block.insert(decode_name(syms_[i].name).key);
    }
    Cand c{b, 0, {}};
    for (size_t k = 0; k < local_names.size(); k++) {
      if (in_block.count(local_names[k]) || in_block.count(keys[k]))
        c.hits++;
      else
        c.missing.push_back(local_names[k]);
    }
    cands.push_back(std::move(c));
  }
  if (cands.empty()) {
    if (why)
      *why = fmt::format("no FILE symbol '{}' in {}", file, path_);
    return std::nullopt;
  }
  std::sort(cands.begin(), cands.end(), [](const Cand &a, const Cand &b) { return a.hits > b.hits; });
  if (cands.size() > 1 && cands[0].hits == cands[1].hits) {
    if (why)
      *why = fmt::format("{} FILE blocks named '{}' in {} match equally well ({} of {} local names)", cands.size(), file,
                         path_, cands[0].hits, local_names.size());
    return std::nullopt;
  }
  if (!local_names.empty() && cands[0].hits == 0) {
    if (why)
      *why = fmt::format("FILE block '{}' in {} has none of this unit's {} local names", file, path_, local_names.size());
    return std::nullopt;
  }
  // A block that lacks some of our locals is another unit of the same name that happens to
  // share a few (every kernel/sched/core.c-like file has a static `helper`, a `count`...),
  // or our unit built differently: either way its symbols are not ours, and taking the best
  // partial match would patch another unit's function.
  if (!cands[0].missing.empty()) {
    if (why) {
      std::vector<std::string> some(cands[0].missing.begin(),
                                    cands[0].missing.begin() + static_cast<long>(std::min<size_t>(cands[0].missing.size(), 5)));
      *why = fmt::format("the best FILE block '{}' in {} lacks {} of this unit's {} local names ({}{}): it is another "
                         "unit of that name, or the target was built from other source or config",
                         file, path_, cands[0].missing.size(), local_names.size(), fmt::join(some, ", "),
                         cands[0].missing.size() > some.size() ? ", ..." : "");
    }
    return std::nullopt;
  }
  return cands[0].block;
}

std::optional<u32> TargetSymbols::find_local(u32 block, const std::string &name, const std::string &key) const {
  if (block == 0 || block >= blocks_.size())
    return std::nullopt;
  const FileBlock &b = blocks_[block];
  for (u32 i = b.first; i < b.last; i++)
    if (syms_[i].defined && syms_[i].name == name)
      return i;
  std::optional<u32> found;
  for (u32 i = b.first; i < b.last; i++)
    if (syms_[i].defined && decode_name(syms_[i].name).key == key) {
      if (found)
        return std::nullopt; // two candidates with the same key: not ours to guess
      found = i;
    }
  return found;
}

std::optional<u32> TargetSymbols::find_global(const std::string &name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end())
    return std::nullopt;
  for (u32 i : it->second)
    if (syms_[i].defined && syms_[i].bind != STB_LOCAL)
      return i;
  return std::nullopt;
}

std::optional<u32> TargetSymbols::find_unique_local(const std::string &name, const std::string &key,
                                                     std::vector<u32> *candidates) const {
  std::vector<u32> exact, same_key;
  if (auto it = by_name_.find(name); it != by_name_.end())
    for (u32 i : it->second)
      if (syms_[i].defined && syms_[i].bind == STB_LOCAL)
        exact.push_back(i);
  if (exact.empty())
    for (u32 i = 0; i < syms_.size(); i++)
      if (syms_[i].defined && syms_[i].bind == STB_LOCAL && decode_name(syms_[i].name).key == key)
        same_key.push_back(i);
  const std::vector<u32> &found = exact.empty() ? same_key : exact;
  if (found.size() == 1)
    return found[0];
  if (candidates)
    *candidates = found;
  return std::nullopt;
}

std::string symbol_tables_differ(const TargetSymbols &a, const TargetSymbols &b) {
  const auto &x = a.syms(), &y = b.syms();
  size_t n = std::min(x.size(), y.size());
  for (size_t i = 0; i < n; i++) {
    const TargetSym &s = x[i], &t = y[i];
    if (s.name != t.name || s.value != t.value || s.size != t.size || s.bind != t.bind || s.type != t.type ||
        s.defined != t.defined)
      return fmt::format("symbol #{} is {} (value 0x{:x}, size {}) in {} but {} (value 0x{:x}, size {}) in {}", i + 1,
                         s.name, s.value, s.size, a.path(), t.name, t.value, t.size, b.path());
  }
  if (x.size() != y.size())
    return fmt::format("{} has {} symbols (without FILE symbols), {} has {}", a.path(), x.size(), b.path(), y.size());
  return {};
}

u64 TargetSymbols::sympos(u32 idx) const {
  const std::string &name = syms_[idx].name;
  auto it = by_name_.find(name);
  std::vector<u32> same;
  for (u32 i : it->second)
    if (syms_[i].defined)
      same.push_back(i);
  if (same.size() <= 1)
    return 0;
  if (linked_) {
    // kallsyms order: by address (ties keep symtab order, as scripts/kallsyms' stable sort).
    std::stable_sort(same.begin(), same.end(), [&](u32 a, u32 b) { return syms_[a].value < syms_[b].value; });
  }
  for (size_t k = 0; k < same.size(); k++)
    if (same[k] == idx)
      return k + 1;
  return 0;
}

Expected<Symvers> Symvers::load(const std::string &path) {
  auto text = read_text_file(path);
  if (!text)
    return std::move(text).take_error();
  return parse(*text, path);
}

Expected<Symvers> Symvers::parse(const std::string &text, const std::string &path) {
  Symvers sv;
  sv.path_ = path;
  std::istringstream in(text);
  std::string line;
  u64 lineno = 0;
  while (std::getline(in, line)) {
    lineno++;
    if (line.empty())
      continue;
    std::vector<std::string> f;
    size_t start = 0;
    for (;;) {
      size_t tab = line.find('\t', start);
      f.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos)
        break;
      start = tab + 1;
    }
    if (f.size() < 4)
      return make_error(Location(path).with_section("line", lineno),
                        fmt::format("expected 'CRC<TAB>symbol<TAB>module<TAB>export type[<TAB>namespace]', got '{}'", line));
    SymversEntry e;
    e.crc = static_cast<u32>(std::strtoul(f[0].c_str(), nullptr, 16));
    e.module = f[2];
    e.export_type = f[3];
    if (f.size() > 4)
      e.ns = f[4];
    sv.map_[f[1]] = std::move(e);
  }
  return sv;
}

const SymversEntry *Symvers::find(const std::string &sym) const {
  auto it = map_.find(sym);
  return it == map_.end() ? nullptr : &it->second;
}

Expected<std::map<std::string, u32>> parse_symver_crcs(const std::string &text, const std::string &path) {
  std::map<std::string, u32> crcs;
  std::istringstream in(text);
  std::string line;
  u64 lineno = 0;
  while (std::getline(in, line)) {
    lineno++;
    if (!line.starts_with("#SYMVER "))
      continue;
    std::istringstream f(line.substr(8));
    std::string name, crc, extra;
    f >> name >> crc;
    char *end = nullptr;
    unsigned long long v = crc.starts_with("0x") ? std::strtoull(crc.c_str(), &end, 16) : 0;
    if (name.empty() || !end || *end || v > 0xffffffffULL || (f >> extra))
      return make_error(Location(path).with_section("line", lineno),
                        fmt::format("expected '#SYMVER <symbol> 0x<crc>', got '{}'", line));
    crcs[name] = static_cast<u32>(v);
  }
  return crcs;
}

Expected<std::map<std::string, u32>> read_symver_crcs(const std::string &path) {
  auto text = read_text_file(path);
  if (!text)
    return std::move(text).take_error();
  return parse_symver_crcs(*text, path);
}

std::string module_objname(const std::string &module_path) {
  std::string base = module_path.substr(module_path.rfind('/') == std::string::npos ? 0 : module_path.rfind('/') + 1);
  if (base.ends_with(".ko"))
    base.resize(base.size() - 3);
  std::replace(base.begin(), base.end(), '-', '_');
  return base;
}

} // namespace kpg::diff
