// SPDX-License-Identifier: GPL-2.0-only
#include "elf_builder.h"

#include <stdexcept>

namespace kpg::elf::test {

u32 StringTable::add(std::string_view s) {
  u32 off = static_cast<u32>(buf_.size());
  buf_.append(s);
  buf_.push_back('\0');
  return off;
}

u32 ElfBuilder::add(RawSection s) {
  sections.push_back(std::move(s));
  return static_cast<u32>(sections.size() - 1);
}

static u64 align_up(u64 v, u64 a) { return a > 1 ? (v + a - 1) / a * a : v; }

std::vector<u8> ElfBuilder::build() const {
  std::vector<RawSection> all = sections;
  StringTable shstr;
  RawSection shs{.name = ".shstrtab", .type = SHT_STRTAB};
  for (size_t i = 1; i < all.size(); i++)
    if (!all[i].name_offset)
      all[i].name_offset = shstr.add(all[i].name);
  shs.name_offset = shstr.add(shs.name);
  shs.data = shstr.bytes();
  all.push_back(shs);

  std::vector<u8> out(sizeof(Elf64_Ehdr));
  std::vector<Elf64_Shdr> shdrs(all.size());
  for (size_t i = 1; i < all.size(); i++) {
    const RawSection &s = all[i];
    Elf64_Shdr &sh = shdrs[i];
    out.resize(align_up(out.size(), s.addralign));
    sh.sh_name = *s.name_offset;
    sh.sh_type = s.type;
    sh.sh_flags = s.flags;
    sh.sh_link = s.link;
    sh.sh_info = s.info;
    sh.sh_addralign = s.addralign;
    sh.sh_entsize = s.entsize;
    sh.sh_offset = s.offset.value_or(out.size());
    sh.sh_size = s.size.value_or(s.data.size());
    out.insert(out.end(), s.data.begin(), s.data.end());
  }
  out.resize(align_up(out.size(), 8));
  u64 shoff = out.size();
  out.resize(out.size() + shdrs.size() * sizeof(Elf64_Shdr));
  std::memcpy(out.data() + shoff, shdrs.data(), shdrs.size() * sizeof(Elf64_Shdr));

  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ei_class;
  eh.e_ident[EI_DATA] = ei_data;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = type;
  eh.e_machine = machine;
  eh.e_version = EV_CURRENT;
  eh.e_shoff = shoff;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = static_cast<u16>(shdrs.size());
  eh.e_shstrndx = shstrndx.value_or(static_cast<u16>(all.size() - 1));
  std::memcpy(out.data(), &eh, sizeof eh);
  return out;
}

Elf64_Sym make_sym(u32 name, u8 bind, u8 type, u16 shndx, u64 value, u64 size) {
  Elf64_Sym s{};
  s.st_name = name;
  s.st_info = static_cast<unsigned char>(ELF64_ST_INFO(bind, type));
  s.st_shndx = shndx;
  s.st_value = value;
  s.st_size = size;
  return s;
}

Elf64_Rela make_rela(u64 offset, u32 sym, u32 type, i64 addend) {
  Elf64_Rela r{};
  r.r_offset = offset;
  r.r_info = ELF64_R_INFO(sym, type);
  r.r_addend = addend;
  return r;
}

MiniObject::MiniObject() {
  // call ext; lea local_var(%rip),%rax; ret; padded with int3.
  std::vector<u8> text = {0xe8, 0, 0, 0, 0, 0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3, 0xcc, 0xcc, 0xcc};
  b.add({.name = ".text", .flags = SHF_ALLOC | SHF_EXECINSTR, .addralign = 16, .data = text});
  b.add({.name = ".data", .flags = SHF_ALLOC | SHF_WRITE, .addralign = 8, .data = std::vector<u8>(8, 0x2a)});
  b.add({.name = ".rela.text", .type = SHT_RELA, .flags = SHF_INFO_LINK, .link = kSymtab, .info = kText,
         .addralign = 8, .entsize = sizeof(Elf64_Rela)});
  b.add({.name = ".symtab", .type = SHT_SYMTAB, .link = kStrtab, .info = kSymFunc, .addralign = 8,
         .entsize = sizeof(Elf64_Sym)});
  b.add({.name = ".strtab", .type = SHT_STRTAB});
  syms = {
      Elf64_Sym{},
      make_sym(0, STB_LOCAL, STT_SECTION, kText),
      make_sym(strtab.add("local_var"), STB_LOCAL, STT_OBJECT, kData, 0, 8),
      make_sym(strtab.add("func"), STB_GLOBAL, STT_FUNC, kText, 0, 13),
      make_sym(strtab.add("ext"), STB_GLOBAL, STT_NOTYPE, SHN_UNDEF),
  };
  relas = {make_rela(1, kSymExt, R_X86_64_PLT32, -4), make_rela(8, kSymLocal, R_X86_64_PC32, -4)};
}

std::vector<u8> MiniObject::build() {
  b.sections[kSymtab].data = bytes_of(syms);
  b.sections[kRelaText].data = bytes_of(relas);
  b.sections[kStrtab].data = strtab.bytes();
  return b.build();
}

std::optional<size_t> ShdrView::find(std::string_view name) const {
  for (size_t i = 0; i < names.size(); i++)
    if (names[i] == name)
      return i;
  return std::nullopt;
}

ShdrView view_sections(const std::vector<u8> &image) {
  if (image.size() < sizeof(Elf64_Ehdr))
    throw std::runtime_error("image too small");
  Elf64_Ehdr eh;
  std::memcpy(&eh, image.data(), sizeof eh);
  ShdrView v;
  v.e_shnum = eh.e_shnum;
  v.e_shstrndx = eh.e_shstrndx;
  auto shdr = [&](u64 i) {
    u64 off = eh.e_shoff + i * sizeof(Elf64_Shdr);
    if (off + sizeof(Elf64_Shdr) > image.size())
      throw std::runtime_error("section header outside the image");
    Elf64_Shdr sh;
    std::memcpy(&sh, image.data() + off, sizeof sh);
    return sh;
  };
  Elf64_Shdr sh0 = shdr(0);
  v.shnum = eh.e_shnum ? eh.e_shnum : sh0.sh_size;
  v.shstrndx = eh.e_shstrndx == SHN_XINDEX ? sh0.sh_link : eh.e_shstrndx;
  for (u64 i = 0; i < v.shnum; i++)
    v.shdrs.push_back(shdr(i));
  const Elf64_Shdr &strs = v.shdrs.at(v.shstrndx);
  for (const Elf64_Shdr &sh : v.shdrs)
    v.names.emplace_back(reinterpret_cast<const char *>(image.data() + strs.sh_offset + sh.sh_name));
  return v;
}

} // namespace kpg::elf::test
