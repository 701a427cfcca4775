// SPDX-License-Identifier: GPL-2.0-only
//
// model -> libelf -> bytes.
//
// Three steps, in the spirit of kpatch's final phase but explicit:
//  1. verify(): the model's references are consistent (so libelf never sees garbage);
//  2. layout: final section order and indices, symbol order (locals first, because
//     .symtab's sh_info must be the index of the first non-local symbol), string tables;
//  3. emit through libelf into a memfd, then read the bytes back.
// The model itself is never modified; index maps carry the renumbering.
#include "elf/writer.h"

#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <unordered_map>

#include "support/file.h"

namespace kpg::elf {

Expected<void> verify(const ObjectFile &obj) {
  Location file(obj.path);
  for (SectionId id : obj.sections.ids()) {
    const Section &s = obj.sections[id];
    Location here = file.with_section(s.name);
    if (s.type != SHT_NOBITS && s.type != SHT_GROUP && s.data.size() != s.size)
      return make_error(here, fmt::format("data size 0x{:x} differs from section size 0x{:x}", s.data.size(), s.size));
    if (s.link && !obj.sections.contains(*s.link))
      return make_error(here, fmt::format("sh_link names section id {}, which does not exist", to_index(*s.link)));
    for (const Reloc &r : s.relocs) {
      if (!obj.symbols.contains(r.sym))
        return make_error(file.with_section(s.name, r.offset),
                          fmt::format("relocation refers to symbol id {}, which does not exist", to_index(r.sym)));
      if (r.offset >= s.size)
        return make_error(file.with_section(s.name, r.offset), "relocation offset lies outside the section");
    }
    if (s.type == SHT_GROUP) {
      if (!s.group_signature || !obj.symbols.contains(*s.group_signature))
        return make_error(here, "section group without a valid signature symbol");
      for (SectionId m : s.group_members)
        if (!obj.sections.contains(m))
          return make_error(here, fmt::format("group member id {} does not exist", to_index(m)));
    }
  }
  for (const ExtraRelocSection &x : obj.extra_relocs) {
    if (!obj.sections.contains(x.target))
      return make_error(file.with_section(x.name), "relocation section targets a section that does not exist");
    for (const Reloc &r : x.relocs) {
      if (!obj.symbols.contains(r.sym))
        return make_error(file.with_section(x.name), fmt::format("relocation refers to symbol id {}, which does not exist",
                                                                 to_index(r.sym)));
      if (r.offset >= obj.sections[x.target].size)
        return make_error(file.with_section(x.name), fmt::format("relocation offset 0x{:x} lies outside '{}'", r.offset,
                                                                 obj.sections[x.target].name));
    }
  }
  for (SymbolId id : obj.symbols.ids()) {
    const Symbol &sym = obj.symbols[id];
    if (sym.section && !obj.sections.contains(*sym.section))
      return make_error(file.with_symbol(sym.name), "symbol is defined in a section that does not exist");
    if (!sym.section && sym.special_shndx == SHN_XINDEX)
      return make_error(file.with_symbol(sym.name), "SHN_XINDEX is an encoding detail and cannot appear in the model");
  }
  if (obj.symbols.empty())
    return make_error(file, "the model has no null symbol");
  return {};
}

namespace {

// A string table under construction: deduplicated, in order of first use (deterministic).
class StrTab {
public:
  StrTab() { buf_.push_back('\0'); }
  u32 add(const std::string &s) {
    if (s.empty())
      return 0;
    auto [it, inserted] = index_.try_emplace(s, static_cast<u32>(buf_.size()));
    if (inserted) {
      buf_.insert(buf_.end(), s.begin(), s.end());
      buf_.push_back('\0');
    }
    return it->second;
  }
  std::vector<u8> &bytes() { return buf_; }

private:
  std::vector<u8> buf_;
  std::unordered_map<std::string, u32> index_;
};

enum class Kind { Regular, Reloc, ExtraReloc, Symtab, Shndx, Strtab, Shstrtab };

struct OutSection {
  OutSection(Kind k, SectionId m = SectionId{0}, size_t x = 0) : kind(k), model(m), extra(x) {}
  Kind kind;
  SectionId model{0};  // Regular: the section; Reloc: its target
  size_t extra = 0;    // ExtraReloc: index into obj.extra_relocs
  GElf_Shdr shdr{};
  std::vector<u8> bytes; // owned until elf_end
  Elf_Type dtype = ELF_T_BYTE;
};

class Writer {
public:
  explicit Writer(const ObjectFile &obj) : obj_(obj) {}
  Expected<std::vector<u8>> run();

private:
  void layout_sections();
  void layout_symbols();
  void fill_contents();
  void layout_offsets();
  Expected<std::vector<u8>> emit();
  u32 out_symidx(SymbolId id) const { return symidx_[to_index(id)]; }
  std::vector<u8> encode_relocs(const std::vector<Reloc> &relocs, bool rela) const;

  const ObjectFile &obj_;
  std::vector<OutSection> out_; // out_[0] is the null section
  std::vector<u32> secidx_;     // model SectionId -> output index
  std::vector<u32> symidx_;     // model SymbolId -> output index
  std::vector<SymbolId> symorder_;
  u32 first_global_ = 0;
  size_t symtab_ = 0, strtab_ = 0, shstrtab_ = 0, shndx_ = 0;
  u64 shoff_ = 0; // section header table offset
};

void Writer::layout_sections() {
  out_.push_back(OutSection{Kind::Regular});
  secidx_.assign(obj_.sections.size(), 0);
  std::vector<std::vector<size_t>> extras(obj_.sections.size());
  for (size_t i = 0; i < obj_.extra_relocs.size(); i++)
    extras[to_index(obj_.extra_relocs[i].target)].push_back(i);
  for (SectionId id : obj_.sections.ids()) {
    const Section &s = obj_.sections[id];
    secidx_[to_index(id)] = static_cast<u32>(out_.size());
    out_.push_back(OutSection{Kind::Regular, id});
    if (!s.relocs.empty())
      out_.push_back(OutSection{Kind::Reloc, id});
    for (size_t x : extras[to_index(id)])
      out_.push_back(OutSection{Kind::ExtraReloc, id, x});
  }
  symtab_ = out_.size();
  out_.push_back(OutSection{Kind::Symtab});
  // Section count after adding shndx/strtab/shstrtab decides whether SHN_XINDEX is needed.
  size_t total = out_.size() + 2;
  bool need_x = total + 1 >= SHN_LORESERVE;
  if (!need_x) {
    for (const Symbol &s : obj_.symbols)
      if (s.section && secidx_[to_index(*s.section)] >= SHN_LORESERVE)
        need_x = true;
  }
  if (need_x) {
    shndx_ = out_.size();
    out_.push_back(OutSection{Kind::Shndx});
  }
  strtab_ = out_.size();
  out_.push_back(OutSection{Kind::Strtab});
  shstrtab_ = out_.size();
  out_.push_back(OutSection{Kind::Shstrtab});
}

void Writer::layout_symbols() {
  // Null symbol first, then locals, then everything else, each in model order.
  symorder_.push_back(SymbolId{0});
  for (SymbolId id : obj_.symbols.ids())
    if (to_index(id) != 0 && obj_.symbols[id].bind == STB_LOCAL)
      symorder_.push_back(id);
  first_global_ = static_cast<u32>(symorder_.size());
  for (SymbolId id : obj_.symbols.ids())
    if (to_index(id) != 0 && obj_.symbols[id].bind != STB_LOCAL)
      symorder_.push_back(id);
  symidx_.assign(obj_.symbols.size(), 0);
  for (size_t i = 0; i < symorder_.size(); i++)
    symidx_[to_index(symorder_[i])] = static_cast<u32>(i);
}

std::vector<u8> Writer::encode_relocs(const std::vector<Reloc> &relocs, bool rela) const {
  if (!rela) {
    // REL: the addend lives in the section bytes, which the model keeps as read.
    std::vector<u8> b(relocs.size() * sizeof(Elf64_Rel));
    for (size_t i = 0; i < relocs.size(); i++) {
      Elf64_Rel r;
      r.r_offset = relocs[i].offset;
      r.r_info = ELF64_R_INFO(out_symidx(relocs[i].sym), relocs[i].type);
      std::memcpy(b.data() + i * sizeof r, &r, sizeof r);
    }
    return b;
  }
  std::vector<u8> b(relocs.size() * sizeof(Elf64_Rela));
  for (size_t i = 0; i < relocs.size(); i++) {
    Elf64_Rela r;
    r.r_offset = relocs[i].offset;
    r.r_info = ELF64_R_INFO(out_symidx(relocs[i].sym), relocs[i].type);
    r.r_addend = relocs[i].addend;
    std::memcpy(b.data() + i * sizeof r, &r, sizeof r);
  }
  return b;
}

void Writer::fill_contents() {
  StrTab shstr, str;
  // Section names first, in output order (deterministic).
  for (size_t i = 1; i < out_.size(); i++) {
    OutSection &o = out_[i];
    GElf_Shdr &sh = o.shdr;
    switch (o.kind) {
    case Kind::Regular: {
      const Section &s = obj_.sections[o.model];
      sh.sh_name = shstr.add(s.name);
      sh.sh_type = s.type;
      sh.sh_flags = s.flags;
      sh.sh_addr = s.addr;
      sh.sh_addralign = s.addralign;
      sh.sh_entsize = s.entsize;
      sh.sh_info = s.info;
      sh.sh_link = s.link ? secidx_[to_index(*s.link)] : 0;
      if (s.type == SHT_GROUP) {
        sh.sh_link = static_cast<u32>(symtab_);
        sh.sh_info = out_symidx(*s.group_signature);
        sh.sh_entsize = 4;
        std::vector<u32> words{s.group_flags};
        for (SectionId m : s.group_members) {
          u32 mi = secidx_[to_index(m)];
          words.push_back(mi);
          if (!obj_.sections[m].relocs.empty())
            words.push_back(mi + 1); // its relocation section directly follows it
        }
        o.bytes.resize(words.size() * 4);
        std::memcpy(o.bytes.data(), words.data(), o.bytes.size());
        o.dtype = ELF_T_WORD;
        sh.sh_size = o.bytes.size();
      } else if (s.type == SHT_NOBITS) {
        sh.sh_size = s.size;
      } else {
        o.bytes = s.data;
        sh.sh_size = s.data.size();
      }
      break;
    }
    case Kind::Reloc: {
      const Section &s = obj_.sections[o.model];
      bool rela = s.reloc_format == RelocFormat::Rela;
      std::string nm = !s.reloc_name.empty() ? s.reloc_name : (rela ? ".rela" : ".rel") + s.name;
      sh.sh_name = shstr.add(nm);
      sh.sh_type = rela ? SHT_RELA : SHT_REL;
      sh.sh_flags = s.reloc_flags | SHF_INFO_LINK;
      if (s.flags & SHF_GROUP)
        sh.sh_flags |= SHF_GROUP;
      sh.sh_link = static_cast<u32>(symtab_);
      sh.sh_info = secidx_[to_index(o.model)];
      sh.sh_addralign = 8;
      sh.sh_entsize = rela ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
      o.bytes = encode_relocs(s.relocs, rela);
      o.dtype = rela ? ELF_T_RELA : ELF_T_REL;
      sh.sh_size = o.bytes.size();
      break;
    }
    case Kind::ExtraReloc: {
      const ExtraRelocSection &x = obj_.extra_relocs[o.extra];
      sh.sh_name = shstr.add(x.name);
      sh.sh_type = SHT_RELA;
      sh.sh_flags = x.flags;
      sh.sh_link = static_cast<u32>(symtab_);
      sh.sh_info = secidx_[to_index(x.target)];
      sh.sh_addralign = 8;
      sh.sh_entsize = sizeof(Elf64_Rela);
      o.bytes = encode_relocs(x.relocs, true);
      o.dtype = ELF_T_RELA;
      sh.sh_size = o.bytes.size();
      break;
    }
    case Kind::Symtab:
      sh.sh_name = shstr.add(".symtab");
      sh.sh_type = SHT_SYMTAB;
      sh.sh_link = static_cast<u32>(strtab_);
      sh.sh_info = first_global_;
      sh.sh_addralign = 8;
      sh.sh_entsize = sizeof(Elf64_Sym);
      break;
    case Kind::Shndx:
      sh.sh_name = shstr.add(".symtab_shndx");
      sh.sh_type = SHT_SYMTAB_SHNDX;
      sh.sh_link = static_cast<u32>(symtab_);
      sh.sh_addralign = 4;
      sh.sh_entsize = 4;
      break;
    case Kind::Strtab:
      sh.sh_name = shstr.add(".strtab");
      sh.sh_type = SHT_STRTAB;
      sh.sh_addralign = 1;
      break;
    case Kind::Shstrtab:
      sh.sh_name = shstr.add(".shstrtab");
      sh.sh_type = SHT_STRTAB;
      sh.sh_addralign = 1;
      break;
    }
  }
  // Symbols.
  std::vector<u8> syms(symorder_.size() * sizeof(Elf64_Sym));
  std::vector<u32> xidx(symorder_.size(), 0);
  for (size_t i = 0; i < symorder_.size(); i++) {
    const Symbol &s = obj_.symbols[symorder_[i]];
    Elf64_Sym es{};
    es.st_name = i == 0 ? 0 : str.add(s.name);
    es.st_info = static_cast<unsigned char>(ELF64_ST_INFO(s.bind, s.type));
    es.st_other = s.other;
    es.st_value = s.value;
    es.st_size = s.size;
    if (s.section) {
      u32 idx = secidx_[to_index(*s.section)];
      if (idx >= SHN_LORESERVE) {
        es.st_shndx = SHN_XINDEX;
        xidx[i] = idx;
      } else {
        es.st_shndx = static_cast<u16>(idx);
      }
    } else {
      es.st_shndx = s.special_shndx;
    }
    std::memcpy(syms.data() + i * sizeof es, &es, sizeof es);
  }
  out_[symtab_].bytes = std::move(syms);
  out_[symtab_].dtype = ELF_T_SYM;
  out_[symtab_].shdr.sh_size = out_[symtab_].bytes.size();
  if (shndx_) {
    out_[shndx_].bytes.resize(xidx.size() * 4);
    std::memcpy(out_[shndx_].bytes.data(), xidx.data(), out_[shndx_].bytes.size());
    out_[shndx_].dtype = ELF_T_WORD;
    out_[shndx_].shdr.sh_size = out_[shndx_].bytes.size();
  }
  out_[strtab_].bytes = std::move(str.bytes());
  out_[strtab_].shdr.sh_size = out_[strtab_].bytes.size();
  out_[shstrtab_].bytes = std::move(shstr.bytes());
  out_[shstrtab_].shdr.sh_size = out_[shstrtab_].bytes.size();
}

// File offsets, decided here rather than by libelf (ELF_F_LAYOUT): libelf pads each section
// to its full sh_addralign, so a single absurd alignment (2^40, from a corrupt input) would
// make a terabyte file. File offsets in a relocatable object need no alignment (linkers and
// the module loader copy contents to aligned addresses); they are aligned like GNU as does,
// but to a page at most.
void Writer::layout_offsets() {
  constexpr u64 max_file_align = 4096;
  auto align_up = [](u64 v, u64 a) { return (v + a - 1) / a * a; };
  u64 off = sizeof(Elf64_Ehdr);
  for (size_t i = 1; i < out_.size(); i++) {
    GElf_Shdr &sh = out_[i].shdr;
    off = align_up(off, std::clamp<u64>(sh.sh_addralign, 1, max_file_align));
    sh.sh_offset = off;
    if (sh.sh_type != SHT_NOBITS)
      off += sh.sh_size;
  }
  shoff_ = align_up(off, sizeof(Elf64_Off));
}

Expected<std::vector<u8>> Writer::emit() {
  Location file(obj_.path);
  int fd = memfd_create("kpatch-gen-elf", MFD_CLOEXEC);
  if (fd < 0)
    return make_error(file, fmt::format("memfd_create: {}", std::strerror(errno)));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } fdc{fd};
  Elf *e = elf_begin(fd, ELF_C_WRITE, nullptr);
  if (!e)
    return make_error(file, fmt::format("elf_begin: {}", elf_errmsg(-1)));
  struct ElfCloser {
    Elf *e;
    ~ElfCloser() { elf_end(e); }
  } ec{e};
  elf_flagelf(e, ELF_C_SET, ELF_F_LAYOUT); // offsets from layout_offsets()
  if (!gelf_newehdr(e, ELFCLASS64))
    return make_error(file, fmt::format("gelf_newehdr: {}", elf_errmsg(-1)));
  GElf_Ehdr eh;
  gelf_getehdr(e, &eh);
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_OSABI] = obj_.header.osabi;
  eh.e_ident[EI_ABIVERSION] = obj_.header.abiversion;
  eh.e_type = obj_.header.type;
  eh.e_machine = obj_.header.machine;
  eh.e_version = EV_CURRENT;
  eh.e_flags = obj_.header.flags;
  eh.e_entry = obj_.header.entry;
  eh.e_shoff = shoff_;
  eh.e_shstrndx = shstrtab_ < SHN_LORESERVE ? static_cast<u16>(shstrtab_) : SHN_XINDEX;
  if (!gelf_update_ehdr(e, &eh))
    return make_error(file, fmt::format("gelf_update_ehdr: {}", elf_errmsg(-1)));

  for (size_t i = 1; i < out_.size(); i++) {
    OutSection &o = out_[i];
    Elf_Scn *scn = elf_newscn(e);
    if (!scn)
      return make_error(file, fmt::format("elf_newscn: {}", elf_errmsg(-1)));
    Elf_Data *d = elf_newdata(scn);
    if (!d)
      return make_error(file, fmt::format("elf_newdata: {}", elf_errmsg(-1)));
    d->d_type = o.dtype;
    d->d_align = o.shdr.sh_addralign ? o.shdr.sh_addralign : 1;
    d->d_version = EV_CURRENT;
    if (o.shdr.sh_type == SHT_NOBITS) {
      d->d_buf = nullptr;
      d->d_size = o.shdr.sh_size;
    } else {
      d->d_buf = o.bytes.empty() ? nullptr : o.bytes.data();
      d->d_size = o.bytes.size();
    }
    if (!gelf_update_shdr(scn, &o.shdr))
      return make_error(file, fmt::format("gelf_update_shdr: {}", elf_errmsg(-1)));
  }
  if (shstrtab_ >= SHN_LORESERVE) {
    // Extended numbering: the real e_shstrndx lives in section 0's sh_link.
    Elf_Scn *s0 = elf_getscn(e, 0);
    GElf_Shdr sh0;
    if (!s0 || !gelf_getshdr(s0, &sh0))
      return make_error(file, fmt::format("cannot access section 0: {}", elf_errmsg(-1)));
    sh0.sh_link = static_cast<u32>(shstrtab_);
    gelf_update_shdr(s0, &sh0);
  }
  if (elf_update(e, ELF_C_WRITE) < 0)
    return make_error(file, fmt::format("elf_update: {}", elf_errmsg(-1)));
  off_t len = ::lseek(fd, 0, SEEK_END);
  std::vector<u8> bytes(static_cast<size_t>(len));
  if (::pread(fd, bytes.data(), bytes.size(), 0) != len)
    return make_error(file, "cannot read back the written ELF image");
  return bytes;
}

Expected<std::vector<u8>> Writer::run() {
  if (auto v = verify(obj_); !v)
    return std::move(v).take_error();
  if (obj_.header.type != ET_REL)
    return make_error(Location(obj_.path), "only relocatable objects (ET_REL) can be written");
  layout_sections();
  layout_symbols();
  fill_contents();
  layout_offsets();
  return emit();
}

} // namespace

Expected<std::vector<u8>> write_object_to_memory(const ObjectFile &obj) {
  static bool initialised = [] { return elf_version(EV_CURRENT) != EV_NONE; }();
  if (!initialised)
    return make_error(Location(obj.path), "libelf initialisation failed");
  Writer w(obj);
  return w.run();
}

Expected<void> write_object(const ObjectFile &obj, const std::string &path) {
  auto bytes = write_object_to_memory(obj);
  if (!bytes)
    return std::move(bytes).take_error();
  return write_file_atomic(path, *bytes);
}

} // namespace kpg::elf
