// SPDX-License-Identifier: GPL-2.0-only
#include "modinfo.h"

#include <elf.h>

#include <cstring>

#include <fmt/format.h>

#include "sys.h"

namespace kpg::load {

std::optional<std::string> ModInfo::get(std::string_view key) const {
  for (const auto &[k, v] : entries)
    if (k == key)
      return v;
  return std::nullopt;
}

bool ModInfo::is_livepatch() const {
  // check_modinfo_livepatch() in 6.1 tests get_modinfo(info, "livepatch") for non-NULL only,
  // but every livepatch module in existence says "Y"; anything else is a broken build.
  std::optional<std::string> v = get("livepatch");
  return v && *v == "Y";
}

std::string normalize_module_name(std::string name) {
  for (char &c : name)
    if (c == '-')
      c = '_';
  return name;
}

std::optional<std::string> normalize_build_id(std::string_view s) {
  if (s.size() < 2 || s.size() > 128 || s.size() % 2 != 0)
    return std::nullopt;
  std::string out;
  for (char c : s) {
    if (c >= '0' && c <= '9')
      out += c;
    else if (c >= 'a' && c <= 'f')
      out += c;
    else if (c >= 'A' && c <= 'F')
      out += static_cast<char>(c - 'A' + 'a');
    else
      return std::nullopt;
  }
  return out;
}

namespace {

struct SectionView {
  std::string name;
  u64 offset = 0, size = 0;
  u32 type = 0;
};

Error bad(const std::string &path, std::string msg) { return make_error(Location(path), std::move(msg)); }

// Section headers of an ELF64 little-endian file, bounds-checked against the image.
Expected<std::vector<SectionView>> read_sections(const std::string &path, std::span<const u8> img) {
  if (img.size() < sizeof(Elf64_Ehdr) || std::memcmp(img.data(), ELFMAG, SELFMAG) != 0)
    return bad(path, "not an ELF file, so not a kernel module");
  if (img[EI_CLASS] != ELFCLASS64 || img[EI_DATA] != ELFDATA2LSB)
    return bad(path, "not a 64-bit little-endian ELF file; kpatch-load handles x86_64 modules");
  Elf64_Ehdr eh;
  std::memcpy(&eh, img.data(), sizeof eh);
  if (eh.e_type != ET_REL)
    return bad(path, fmt::format("ELF type {} is not ET_REL; a kernel module is a relocatable object", eh.e_type));
  if (eh.e_shentsize != sizeof(Elf64_Shdr))
    return bad(path, fmt::format("unexpected section header size {}", eh.e_shentsize));
  u64 shnum = eh.e_shnum;
  u64 shstrndx = eh.e_shstrndx;
  auto shdr_at = [&](u64 i, Elf64_Shdr &out) -> bool {
    u64 off = eh.e_shoff + i * sizeof(Elf64_Shdr);
    if (eh.e_shoff == 0 || off < eh.e_shoff || off + sizeof(Elf64_Shdr) > img.size())
      return false;
    std::memcpy(&out, img.data() + off, sizeof out);
    return true;
  };
  // More than 0xff00 sections: the real counts live in section 0 (ELF gABI extended numbering).
  Elf64_Shdr sh0{};
  if (shnum == 0 || shstrndx == SHN_XINDEX) {
    if (!shdr_at(0, sh0))
      return bad(path, "section header table lies outside the file");
    if (shnum == 0)
      shnum = sh0.sh_size;
    if (shstrndx == SHN_XINDEX)
      shstrndx = sh0.sh_link;
  }
  if (shnum == 0)
    return bad(path, "no section headers");
  if (eh.e_shoff > img.size() || shnum > (img.size() - eh.e_shoff) / sizeof(Elf64_Shdr))
    return bad(path, fmt::format("section header table ({} entries at offset {}) lies outside the file (truncated?)",
                                 shnum, eh.e_shoff));
  Elf64_Shdr strsh;
  if (shstrndx >= shnum || !shdr_at(shstrndx, strsh))
    return bad(path, "section name table index out of range");
  if (strsh.sh_offset > img.size() || strsh.sh_size > img.size() - strsh.sh_offset)
    return bad(path, "section name table lies outside the file");
  std::vector<SectionView> out;
  for (u64 i = 0; i < shnum; i++) {
    Elf64_Shdr sh;
    if (!shdr_at(i, sh))
      return bad(path, fmt::format("section header {} lies outside the file", i));
    SectionView v;
    v.type = sh.sh_type;
    v.offset = sh.sh_offset;
    v.size = sh.sh_size;
    if (sh.sh_name < strsh.sh_size) {
      const char *s = reinterpret_cast<const char *>(img.data() + strsh.sh_offset + sh.sh_name);
      v.name.assign(s, strnlen(s, strsh.sh_size - sh.sh_name));
    }
    if (v.type != SHT_NOBITS && (v.offset > img.size() || v.size > img.size() - v.offset))
      return bad(path, fmt::format("section {} ({}) lies outside the file", i, v.name));
    out.push_back(std::move(v));
  }
  return out;
}

} // namespace

Expected<ModInfo> parse_modinfo(const std::string &path, std::span<const u8> img) {
  auto secs = read_sections(path, img);
  if (!secs)
    return std::move(secs).take_error();
  ModInfo mi;
  mi.path = path;
  const SectionView *modinfo = nullptr, *this_module = nullptr;
  for (const SectionView &s : *secs) {
    if (s.name == ".modinfo")
      modinfo = &s;
    else if (s.name == ".gnu.linkonce.this_module")
      this_module = &s;
  }
  if (!modinfo || modinfo->type == SHT_NOBITS)
    return bad(path, "no .modinfo section: not a kernel module");
  const char *p = reinterpret_cast<const char *>(img.data() + modinfo->offset);
  const char *end = p + modinfo->size;
  while (p < end) {
    const char *nul = static_cast<const char *>(std::memchr(p, '\0', static_cast<size_t>(end - p)));
    const char *stop = nul ? nul : end;
    std::string_view entry(p, static_cast<size_t>(stop - p));
    // Entries are padded with NULs for alignment; empty strings are padding.
    if (!entry.empty()) {
      size_t eq = entry.find('=');
      if (eq == std::string_view::npos)
        mi.entries.emplace_back(std::string(entry), "");
      else
        mi.entries.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
    p = stop + 1;
  }
  if (std::optional<std::string> n = mi.get("name"); n && !n->empty()) {
    mi.name = normalize_module_name(*n);
  } else if (this_module && this_module->type != SHT_NOBITS && this_module->size > 24) {
    // struct module starts with `enum module_state state; struct list_head list; char
    // name[56];`: the name is at offset 24 on 64-bit kernels. modpost writes name= (6.1 does),
    // so this is only a fallback for modules linked by hand.
    const char *s = reinterpret_cast<const char *>(img.data() + this_module->offset + 24);
    mi.name = std::string(s, strnlen(s, std::min<u64>(56, this_module->size - 24)));
  }
  if (mi.name.empty())
    return bad(path, "module name not found (.modinfo has no name= and .gnu.linkonce.this_module is missing)");
  if (auto sig = elf::find_appended_signature(img, path))
    mi.signature = *sig;
  else
    mi.signature_problem = sig.error().message;
  return mi;
}

Expected<ModInfo> read_modinfo(const std::string &path) {
  auto data = read_host_file(path);
  if (!data)
    return std::move(data).take_error();
  return parse_modinfo(path, std::span<const u8>(reinterpret_cast<const u8 *>(data->data()), data->size()));
}

} // namespace kpg::load
