// SPDX-License-Identifier: GPL-2.0-only
//
// ELF image -> model. Copies everything it keeps: the image can go when the read returns.
//
// The reader accepts only ELFCLASS64 little-endian files on a little-endian host, so every
// structure is read in place from the image, as lld's ELFFile does: the ELF header, the
// section header table, contents, symbols, strings and relocations. It used libelf for the
// headers, then only for them: libelf's translation of such files is the identity, yet
// elf_memory() allocates a descriptor per section before it answers anything (6.5 MB for a
// 10,000-function unit, a seventh of a diff's time in page faults). libelf stays the
// writer's (writer.cc).
//
// The reader is also the validator: every index that the rest of the project would
// otherwise have to trust (sh_link, sh_info, st_shndx, r_info's symbol, string offsets,
// group members) is checked here, once, and a bad one is reported with the file and the
// section or symbol it came from. Checks are in the order the file is interpreted, so the
// first message is the root cause ("truncated section header table", not a later symptom).
#include "elf/reader.h"

#include <gelf.h>
#include <zlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <map>

#include "support/file.h"

namespace kpg::elf {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the reader reads little-endian ELF structures in place");

// What the reader knows of one section of the file besides its header (Reader::hdr). Kept
// small: a 10,000-function unit has 30,000 sections, and the diff reads two such files on
// two threads at once (with the header copied in, this table was 3.8 MB a read).
struct RawSection {
  // Points into the section name table, which lives as long as the image (the whole read):
  // no copy for the ~30k names of a function-sections unit.
  std::string_view name;
  std::optional<SectionId> model; // set for sections that become model Sections
  bool compressed = false; // SHF_COMPRESSED in the file (inflated only when its contents are read)
};

// An SHF_COMPRESSED section once decompress() has looked at it: the header as it describes
// the uncompressed contents, and those contents when they were inflated.
struct Inflated {
  Elf64_Shdr shdr{};
  std::optional<std::vector<u8>> data;
};

class Reader {
public:
  Reader(std::string name, const ReadOptions &opts) : name_(std::move(name)), opts_(opts) {}
  Expected<ObjectFile> run(std::span<const u8> image);
  Expected<std::vector<std::pair<SectionId, Section>>> run_debug(std::span<const u8> image, const ObjectFile &model,
                                                                 bool (*wanted)(std::string_view), bool mapped);

private:
  Error err(std::string msg) const { return make_error(Location(name_), std::move(msg)); }
  Error err_sec(size_t idx, std::string msg) const {
    std::string sname = idx < raw_.size() && !raw_[idx].name.empty() ? std::string(raw_[idx].name) : fmt::format("section [{}]", idx);
    return make_error(Location(name_).with_section(sname), std::move(msg));
  }

  Expected<void> open(std::span<const u8> image);
  Expected<void> read_header();
  Expected<void> read_section_headers();
  // Is raw section `i` one that becomes a model Section (not a table the writer regenerates,
  // not a relocation section)?
  bool is_model_section(size_t i) const {
    u32 type = hdr(i).sh_type;
    return type != SHT_RELA && type != SHT_REL && i != shstrndx_ && i != symtab_idx_ && i != strtab_idx_ &&
           i != shndx_idx_;
  }
  // Fills `s` (a default Section) from section i: built in place, since a Section is 224
  // bytes and a function-sections unit has 20,000 of them.
  Expected<void> make_section(size_t i, Section &s);
  Expected<void> check_reloc_section(size_t i) const;
  // The relocations of relocation section `i` (already checked to apply to `tsec`), cooked.
  Expected<std::vector<Reloc>> cook_relocations(size_t i, const Section &tsec, size_t nsyms);
  void set_primary_relocs(size_t i, Section &tsec, std::vector<Reloc> relocs) const;
  Expected<void> read_sections();
  Expected<void> read_symbols();
  Expected<void> read_relocations();
  Expected<void> read_groups();
  // The contents of section `idx` as stored in the image (inflated for SHF_COMPRESSED),
  // checked to lie inside the file; empty for SHT_NOBITS.
  Expected<std::span<const u8>> contents(size_t idx);
  // The NUL-terminated string at `off` of string table `table` (already read by contents()),
  // or nullptr when `off` is outside it or the string runs off its end.
  static const char *string_at(std::span<const u8> table, u64 off) {
    if (off >= table.size())
      return nullptr;
    const void *nul = std::memchr(table.data() + off, 0, table.size() - off);
    return nul ? reinterpret_cast<const char *>(table.data() + off) : nullptr;
  }
  bool skip_contents(size_t idx) const {
    return idx < raw_.size() && !opts_.debug_contents && raw_[idx].name.starts_with(".debug_");
  }
  Expected<void> decompress(size_t idx);

  std::string name_;
  ReadOptions opts_;
  std::span<const u8> image_;
  Elf64_Ehdr ehdr_{};
  ObjectFile obj_;
  std::vector<RawSection> raw_;
  // The section header table, in the image (or in table_copy_ when the image has it at an
  // offset that is not 8-aligned), and the decompressed sections' own headers.
  const Elf64_Shdr *table_ = nullptr;
  std::vector<Elf64_Shdr> table_copy_;
  std::map<size_t, Inflated> inflated_;
  // Section i's header (all zero for section 0, whatever the file has there).
  const Elf64_Shdr &hdr(size_t i) const {
    static const Elf64_Shdr null_header{};
    if (i == 0)
      return null_header;
    if (raw_[i].compressed)
      if (auto it = inflated_.find(i); it != inflated_.end())
        return it->second.shdr;
    return table_[i];
  }
  size_t shstrndx_ = 0;
  size_t symtab_idx_ = 0; // 0: none
  size_t strtab_idx_ = 0;
  size_t shndx_idx_ = 0;  // SHT_SYMTAB_SHNDX, 0: none
  size_t nsyms_ = 0;
};

Expected<std::span<const u8>> Reader::contents(size_t idx) {
  if (raw_[idx].compressed) {
    if (auto it = inflated_.find(idx); it != inflated_.end() && it->second.data)
      return std::span<const u8>(*it->second.data);
    // Never happens: such contents are skipped (skip_contents) or inflated.
    return err_sec(idx, "compressed contents were not inflated");
  }
  const GElf_Shdr &sh = hdr(idx);
  if (sh.sh_type == SHT_NOBITS || sh.sh_size == 0)
    return std::span<const u8>();
  if (sh.sh_offset > image_.size() || sh.sh_size > image_.size() - sh.sh_offset)
    return err_sec(idx, fmt::format("section contents [0x{:x}, 0x{:x}) extend past the end of the file (0x{:x} bytes)",
                                    sh.sh_offset, sh.sh_offset + sh.sh_size, image_.size()));
  return image_.subspan(sh.sh_offset, sh.sh_size);
}

// SHF_COMPRESSED sections (.debug_* with CONFIG_DEBUG_INFO_COMPRESSED, gcc -gz): relocations
// and REL addends refer to the uncompressed bytes, so the model holds those, as lld does.
// The flag is dropped and the section is written back uncompressed. Inflated with zlib
// into the model (the image is const: nothing is decompressed in place).
Expected<void> Reader::decompress(size_t idx) {
  Elf64_Shdr sh = hdr(idx);
  if (sh.sh_offset > image_.size() || sh.sh_size > image_.size() - sh.sh_offset)
    return err_sec(idx, fmt::format("section contents [0x{:x}, 0x{:x}) extend past the end of the file (0x{:x} bytes)",
                                    sh.sh_offset, sh.sh_offset + sh.sh_size, image_.size()));
  Elf64_Chdr ch;
  if (sh.sh_size < sizeof ch)
    return err_sec(idx, "compressed section too small for its compression header");
  std::memcpy(&ch, image_.data() + sh.sh_offset, sizeof ch);
  if (ch.ch_type != ELFCOMPRESS_ZLIB)
    return err_sec(idx, fmt::format("unsupported compression type {} (only ELFCOMPRESS_ZLIB)", ch.ch_type));
  // Deflate expands at most 1032:1; a bigger claim is a corrupt header, and would have us
  // allocate whatever it says.
  u64 packed = sh.sh_size - sizeof ch;
  if (ch.ch_size / 1032 > packed || ch.ch_size > UINT32_MAX)
    return err_sec(idx, fmt::format("uncompressed size 0x{:x} is impossible for 0x{:x} compressed bytes", ch.ch_size,
                                    packed));
  if (opts_.section_data && !skip_contents(idx)) {
    std::vector<u8> out(ch.ch_size);
    z_stream zs{};
    zs.next_in = const_cast<u8 *>(image_.data() + sh.sh_offset + sizeof ch); // zlib does not write it
    zs.avail_in = static_cast<uInt>(packed);
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = inflateInit(&zs);
    if (rc == Z_OK)
      rc = inflate(&zs, Z_FINISH);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || zs.total_out != ch.ch_size)
      return err_sec(idx, fmt::format("cannot decompress: {}", zs.msg ? zs.msg : "truncated or corrupt zlib stream"));
    inflated_[idx].data = std::move(out);
  }
  sh.sh_size = ch.ch_size;
  sh.sh_addralign = ch.ch_addralign;
  sh.sh_flags &= ~static_cast<u64>(SHF_COMPRESSED);
  inflated_[idx].shdr = sh;
  raw_[idx].compressed = true;
  return {};
}

Expected<void> Reader::read_header() {
  Elf64_Ehdr &eh = ehdr_;
  std::memcpy(&eh, image_.data(), sizeof eh); // open() checked the size
  if (eh.e_ident[EI_VERSION] != EV_CURRENT)
    return err(fmt::format("not an ELF file (EI_VERSION {}, expected {})", eh.e_ident[EI_VERSION], EV_CURRENT));
  obj_.header.osabi = eh.e_ident[EI_OSABI];
  obj_.header.abiversion = eh.e_ident[EI_ABIVERSION];
  obj_.header.type = eh.e_type;
  obj_.header.machine = eh.e_machine;
  obj_.header.flags = eh.e_flags;
  obj_.header.entry = eh.e_entry;
  if (eh.e_shoff != 0 && eh.e_shentsize != sizeof(Elf64_Shdr))
    return err(fmt::format("bad e_shentsize {} (expected {})", eh.e_shentsize, sizeof(Elf64_Shdr)));
  return {};
}

Expected<void> Reader::read_section_headers() {
  const Elf64_Ehdr &eh = ehdr_;
  auto truncated = [&](u64 count) {
    return err(fmt::format("truncated section header table: {} headers at offset 0x{:x} do not fit in 0x{:x} bytes",
                           count, eh.e_shoff, image_.size()));
  };
  // The section count: e_shnum, or section 0's sh_size under extended numbering (more than
  // SHN_LORESERVE sections: a 10,000-function unit has 30,000), and the table must fit in
  // the file (a truncated object must not look like an empty one).
  if (eh.e_shoff == 0)
    return {}; // no section header table
  u64 n = eh.e_shnum;
  if (eh.e_shoff > image_.size() || image_.size() - eh.e_shoff < sizeof(Elf64_Shdr))
    return truncated(std::max<u64>(n, 1));
  Elf64_Shdr sh0;
  std::memcpy(&sh0, image_.data() + eh.e_shoff, sizeof sh0);
  if (n == 0)
    n = sh0.sh_size;
  if (n > (image_.size() - eh.e_shoff) / sizeof(Elf64_Shdr))
    return truncated(n);
  if (n == 0)
    return {};
  // The name table's index, also extended: in section 0's sh_link when it is SHN_XINDEX.
  shstrndx_ = eh.e_shstrndx == SHN_XINDEX ? sh0.sh_link : eh.e_shstrndx;
  if (shstrndx_ >= n)
    return err(fmt::format("e_shstrndx {} is out of range ({} sections)", shstrndx_, n));
  raw_.resize(n);
  // The table fits in the file (checked above) and is an array of Elf64_Shdr (GElf_Shdr is
  // the same type): read in place, or from an aligned copy when the file puts it at an odd
  // offset (only a hand-made or damaged file does).
  static_assert(sizeof(GElf_Shdr) == sizeof(Elf64_Shdr));
  const u8 *at = image_.data() + eh.e_shoff;
  if (reinterpret_cast<uintptr_t>(at) % alignof(Elf64_Shdr) == 0) {
    table_ = reinterpret_cast<const Elf64_Shdr *>(at);
  } else {
    table_copy_.resize(n);
    std::memcpy(table_copy_.data(), at, n * sizeof(Elf64_Shdr));
    table_ = table_copy_.data();
  }
  // The section name table must be a string table before names are looked up in it.
  if (shstrndx_ != 0 && hdr(shstrndx_).sh_type != SHT_STRTAB)
    return err(fmt::format("e_shstrndx {} does not point to a string table", shstrndx_));
  std::span<const u8> names;
  if (shstrndx_) {
    auto t = contents(shstrndx_);
    if (!t)
      return std::move(t).take_error();
    names = *t;
  }
  for (size_t i = 1; i < n; i++) {
    const char *s = string_at(names, hdr(i).sh_name);
    if (!s)
      return err(fmt::format("section [{}]: name offset 0x{:x} is outside the section name table", i, hdr(i).sh_name));
    raw_[i].name = s;
  }
  for (size_t i = 1; i < n; i++) {
    const GElf_Shdr &sh = hdr(i);
    if (sh.sh_type == SHT_SYMTAB) {
      if (symtab_idx_)
        return err_sec(i, "more than one SHT_SYMTAB section");
      symtab_idx_ = i;
    } else if (sh.sh_type == SHT_SYMTAB_SHNDX) {
      shndx_idx_ = i;
    }
  }
  if (symtab_idx_) {
    const GElf_Shdr &sh = hdr(symtab_idx_);
    if (sh.sh_link == 0 || sh.sh_link >= n || hdr(sh.sh_link).sh_type != SHT_STRTAB)
      return err_sec(symtab_idx_, fmt::format("bad sh_link {}: the symbol table must link to a string table", sh.sh_link));
    if (sh.sh_entsize != sizeof(Elf64_Sym))
      return err_sec(symtab_idx_, fmt::format("bad sh_entsize {} (expected {})", sh.sh_entsize, sizeof(Elf64_Sym)));
    strtab_idx_ = sh.sh_link;
    nsyms_ = sh.sh_size / sizeof(Elf64_Sym);
  }
  if (shndx_idx_ && hdr(shndx_idx_).sh_link != symtab_idx_)
    return err_sec(shndx_idx_, fmt::format("bad sh_link {}: SHT_SYMTAB_SHNDX must link to the symbol table",
                                           hdr(shndx_idx_).sh_link));
  return {};
}

// Section types whose entry size libelf fixes when it writes a file (elf32_updatenull.c); the
// model keeps sh_entsize as read, so a different value could not survive a round trip.
static u64 fixed_entsize(u32 type) {
  switch (type) {
  case SHT_GROUP:
  case SHT_SYMTAB_SHNDX:
  case SHT_HASH: return sizeof(Elf32_Word);
  case SHT_DYNAMIC: return sizeof(Elf64_Dyn);
  case SHT_DYNSYM: return sizeof(Elf64_Sym);
  case SHT_SUNW_move: return sizeof(Elf64_Move);
  case SHT_SUNW_syminfo: return sizeof(Elf64_Syminfo);
  default: return 0;
  }
}

Expected<void> Reader::make_section(size_t i, Section &s) {
  if (const Elf64_Shdr &file = hdr(i); file.sh_flags & SHF_COMPRESSED) {
    // Only contents are compressed in practice; the tables the reader interprets are not.
    if (file.sh_type == SHT_GROUP || file.sh_type == SHT_NOBITS)
      return err_sec(i, fmt::format("SHF_COMPRESSED is not supported on a {} section", section_type_name(file.sh_type)));
    if (auto r = decompress(i); !r)
      return std::move(r).take_error();
  }
  const Elf64_Shdr &sh = hdr(i); // after decompress(): the uncompressed contents' header
  // What libelf requires of the sections the writer gives it back.
  if (sh.sh_addralign & (sh.sh_addralign - 1))
    return err_sec(i, fmt::format("sh_addralign {} is not a power of two", sh.sh_addralign));
  if (u64 want = fixed_entsize(sh.sh_type); want && sh.sh_entsize != want)
    return err_sec(i, fmt::format("bad sh_entsize {} for a {} section (expected {})", sh.sh_entsize,
                                  section_type_name(sh.sh_type), want));
  s.name = raw_[i].name;
  s.type = sh.sh_type;
  s.flags = sh.sh_flags;
  s.addr = sh.sh_addr;
  s.addralign = sh.sh_addralign ? sh.sh_addralign : 1;
  s.entsize = sh.sh_entsize;
  s.size = sh.sh_size;
  s.info = sh.sh_type == SHT_GROUP ? 0 : sh.sh_info;
  if (auto it = inflated_.find(i); raw_[i].compressed && it != inflated_.end() && it->second.data) {
    s.data = std::move(*it->second.data);
  } else if (sh.sh_type != SHT_NOBITS && opts_.section_data && sh.sh_type != SHT_GROUP && !skip_contents(i)) {
    auto d = contents(i);
    if (!d)
      return std::move(d).take_error();
    s.data.assign(d->begin(), d->end());
  }
  return {};
}

// Sections that become model Sections: everything except the tables the writer regenerates
// (symtab, its strtab, shstrtab, symtab_shndx) and relocation sections (cooked into targets).
Expected<void> Reader::read_sections() {
  // A function-sections kernel unit has tens of thousands of sections; growing the vector by
  // doubling would leave up to half of it unused and move every Section on the way. Reserved
  // for the sections that become Sections: a third of the file's are relocation sections,
  // and a Section is ~230 bytes (10,000 functions: 2.3 MB less per read).
  size_t kept = 0;
  for (size_t i = 1; i < raw_.size(); i++)
    kept += is_model_section(i);
  obj_.sections.reserve(kept);
  for (size_t i = 1; i < raw_.size(); i++) {
    if (!is_model_section(i)) { // cooked into the target by read_relocations, or regenerated
      if (hdr(i).sh_flags & SHF_COMPRESSED)
        return err_sec(i, fmt::format("SHF_COMPRESSED is not supported on a {} section",
                                      section_type_name(hdr(i).sh_type)));
      continue;
    }
    SectionId id = obj_.add_section(Section{});
    if (auto r = make_section(i, obj_.sections[id]); !r)
      return r;
    raw_[i].model = id;
  }
  // sh_link between regular sections (SHF_LINK_ORDER and friends).
  for (size_t i = 1; i < raw_.size(); i++) {
    if (!raw_[i].model)
      continue;
    const GElf_Shdr &sh = hdr(i);
    if (sh.sh_type == SHT_GROUP || sh.sh_link == 0)
      continue;
    if (sh.sh_link >= raw_.size())
      return err_sec(i, fmt::format("sh_link {} is out of range ({} sections)", sh.sh_link, raw_.size()));
    if (!raw_[sh.sh_link].model) {
      // Executables link .dynsym/.hash/... to tables we do not model; only relocatable
      // objects must be exact.
      if (obj_.header.type == ET_REL)
        return err_sec(i, fmt::format("sh_link {} points to '{}', which is not a regular section", sh.sh_link,
                                      raw_[sh.sh_link].name));
      continue;
    }
    obj_.sections[*raw_[i].model].link = raw_[sh.sh_link].model;
  }
  return {};
}

Expected<void> Reader::read_symbols() {
  obj_.symbols.clear();
  if (!symtab_idx_) {
    obj_.add_symbol(Symbol{}); // the null symbol, so ids stay file indices
    return {};
  }
  auto sd = contents(symtab_idx_);
  if (!sd)
    return std::move(sd).take_error();
  auto strtab = contents(strtab_idx_);
  if (!strtab)
    return std::move(strtab).take_error();
  std::span<const u8> xndx;
  if (shndx_idx_) {
    auto xd = contents(shndx_idx_);
    if (!xd)
      return std::move(xd).take_error();
    xndx = *xd;
    if (xndx.size() < nsyms_ * sizeof(Elf32_Word))
      return err_sec(shndx_idx_, fmt::format("SHT_SYMTAB_SHNDX has fewer entries than the symbol table ({})", nsyms_));
  }
  if (hdr(symtab_idx_).sh_info > nsyms_)
    return err_sec(symtab_idx_, fmt::format("sh_info {} (first global) exceeds the symbol count {}",
                                            hdr(symtab_idx_).sh_info, nsyms_));
  obj_.symbols.reserve(nsyms_);
  std::optional<size_t> first_nonlocal;
  for (size_t i = 0; i < nsyms_; i++) {
    // nsyms_ = sh_size / sizeof(Elf64_Sym), and contents() checked sh_size against the file.
    Elf64_Sym gs;
    std::memcpy(&gs, sd->data() + i * sizeof gs, sizeof gs);
    Elf32_Word xi = 0;
    if (!xndx.empty())
      std::memcpy(&xi, xndx.data() + i * sizeof xi, sizeof xi);
    if (i == 0) {
      // The null symbol is reserved (all zero in the gABI); whatever a broken file has there
      // means nothing, and the writer emits zeros.
      obj_.add_symbol(Symbol{});
      continue;
    }
    Symbol s;
    const char *nm = string_at(*strtab, gs.st_name);
    if (!nm)
      return err_sec(symtab_idx_, fmt::format("symbol {}: name offset 0x{:x} is outside the string table '{}'", i,
                                              gs.st_name, raw_[strtab_idx_].name));
    s.name = nm;
    s.bind = GELF_ST_BIND(gs.st_info);
    // ELF requires locals first (sh_info = first non-local) and the writer emits them so; a
    // local after a non-local would be renumbered on the way through (lld rejects it too).
    if (s.bind != STB_LOCAL && !first_nonlocal)
      first_nonlocal = i;
    else if (s.bind == STB_LOCAL && first_nonlocal)
      return make_error(Location(name_).with_symbol(s.name),
                        fmt::format("local symbol {} follows non-local symbol {}: locals must come first", i,
                                    *first_nonlocal));
    s.type = GELF_ST_TYPE(gs.st_info);
    s.other = gs.st_other;
    s.value = gs.st_value;
    s.size = gs.st_size;
    u32 shndx = gs.st_shndx;
    if (shndx == SHN_XINDEX) {
      if (!shndx_idx_)
        return err_sec(symtab_idx_, fmt::format("symbol {} '{}' uses SHN_XINDEX but there is no SHT_SYMTAB_SHNDX", i, s.name));
      shndx = xi;
    } else if (shndx >= SHN_LORESERVE) {
      s.special_shndx = static_cast<u16>(shndx);
      obj_.add_symbol(std::move(s));
      continue;
    }
    if (shndx != SHN_UNDEF) {
      if (shndx >= raw_.size())
        return make_error(Location(name_).with_symbol(s.name),
                          fmt::format("symbol {} has section index {}, out of range ({} sections)", i, shndx, raw_.size()));
      if (!raw_[shndx].model) {
        // A symbol "in" a relocation or string table section: only meaningful for
        // STT_SECTION symbols of sections we regenerate; drop the section binding there.
        if (s.type == STT_SECTION) {
          s.special_shndx = SHN_ABS;
          obj_.add_symbol(std::move(s));
          continue;
        }
        return make_error(Location(name_).with_symbol(s.name),
                          fmt::format("symbol {} is defined in '{}', which is not a regular section", i, raw_[shndx].name));
      }
      s.section = raw_[shndx].model;
    }
    obj_.add_symbol(std::move(s));
  }
  return {};
}

// What a relocation section's header must say before its entries are read: it links to the
// symbol table and applies to a regular section, with entries of its type's size.
Expected<void> Reader::check_reloc_section(size_t i) const {
  const GElf_Shdr &sh = hdr(i);
  if (sh.sh_link != symtab_idx_ || symtab_idx_ == 0)
    return err_sec(i, fmt::format("bad sh_link {}: a relocation section must link to the symbol table [{}]", sh.sh_link,
                                  symtab_idx_));
  if (sh.sh_info == 0 || sh.sh_info >= raw_.size() || !raw_[sh.sh_info].model)
    return err_sec(i, fmt::format("bad sh_info {}: it must name the section the relocations apply to", sh.sh_info));
  // A group's contents are structural (the model keeps no bytes for them to patch).
  if (hdr(sh.sh_info).sh_type == SHT_GROUP)
    return err_sec(i, fmt::format("bad sh_info {}: relocations cannot apply to section group '{}'", sh.sh_info,
                                  raw_[sh.sh_info].name));
  size_t entsize = sh.sh_type == SHT_RELA ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
  if (sh.sh_entsize != entsize)
    return err_sec(i, fmt::format("bad sh_entsize {} (expected {})", sh.sh_entsize, entsize));
  return {};
}

// Checks and cooks the entries of relocation section `i` that applies to `tsec`; `nsyms`: the
// symbol count of the model they refer into.
Expected<std::vector<Reloc>> Reader::cook_relocations(size_t i, const Section &tsec, size_t nsyms) {
  const GElf_Shdr &sh = hdr(i);
  bool rela = sh.sh_type == SHT_RELA;
  size_t entsize = rela ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
  auto d = contents(i);
  if (!d)
    return std::move(d).take_error();
  size_t n = sh.sh_size / entsize;
  std::vector<Reloc> relocs;
  relocs.reserve(n);
  for (size_t k = 0; k < n; k++) {
    Reloc r;
    u64 info;
    if (rela) {
      Elf64_Rela er;
      std::memcpy(&er, d->data() + k * sizeof er, sizeof er);
      r.offset = er.r_offset;
      r.addend = er.r_addend;
      info = er.r_info;
    } else {
      Elf64_Rel er;
      std::memcpy(&er, d->data() + k * sizeof er, sizeof er);
      r.offset = er.r_offset;
      info = er.r_info;
    }
    r.type = static_cast<u32>(GELF_R_TYPE(info));
    u64 symidx = GELF_R_SYM(info);
    // Built only on error: this loop runs for every relocation of the file.
    auto here = [&] { return Location(name_).with_section(std::string(raw_[i].name), k * entsize); };
    if (symidx >= nsyms)
      return make_error(here(), fmt::format("relocation {} refers to symbol {}, out of range ({} symbols)", k, symidx,
                                          nsyms));
    r.sym = SymbolId(static_cast<u32>(symidx));
    // In executables (a vmlinux linked with --emit-relocs) r_offset is an address; the
    // model keeps offsets relative to the section in every file type.
    // (Some of vmlinux's, e.g. .rela__ex_table, are already section-relative.)
    if (obj_.header.type != ET_REL && tsec.addr != 0 && r.offset >= tsec.addr && r.offset - tsec.addr < tsec.size)
      r.offset -= tsec.addr;
    unsigned fsz = obj_.header.machine == EM_X86_64 ? x86_64_reloc_width(r.type) : 0;
    // Even a field of unknown size starts inside the section: that is verify()'s rule too,
    // and what it accepts here the writer must be able to write.
    if (r.offset >= tsec.size || fsz > tsec.size - r.offset)
      return make_error(here(), fmt::format("relocation {} at offset 0x{:x} ({} bytes) lies outside '{}' (size 0x{:x})", k,
                                          r.offset, fsz, tsec.name, tsec.size));
    if (!rela && (fsz == 8 || fsz == 4) && !tsec.data.empty()) {
      // REL: the addend is stored in the field itself.
      if (fsz == 8) {
        i64 v;
        std::memcpy(&v, tsec.data.data() + r.offset, 8);
        r.addend = v;
      } else {
        i32 v;
        std::memcpy(&v, tsec.data.data() + r.offset, 4);
        r.addend = v;
      }
    }
    relocs.push_back(r);
  }
  return relocs;
}

// `tsec`'s own relocations, from relocation section `i`.
void Reader::set_primary_relocs(size_t i, Section &tsec, std::vector<Reloc> relocs) const {
  const GElf_Shdr &sh = hdr(i);
  bool rela = sh.sh_type == SHT_RELA;
  std::string expected_name = (rela ? ".rela" : ".rel") + tsec.name;
  tsec.relocs = std::move(relocs);
  tsec.reloc_format = rela ? RelocFormat::Rela : RelocFormat::Rel;
  tsec.reloc_name = raw_[i].name == expected_name ? std::string() : std::string(raw_[i].name);
  // The writer always sets SHF_INFO_LINK, and SHF_GROUP for a grouped target (as GNU as
  // does); record the flags as they will be written so that a round trip is stable.
  tsec.reloc_flags = sh.sh_flags | SHF_INFO_LINK | (tsec.flags & SHF_GROUP);
}

Expected<void> Reader::read_relocations() {
  if (!opts_.relocations)
    return {};
  for (size_t i = 1; i < raw_.size(); i++) {
    const GElf_Shdr &sh = hdr(i);
    if (sh.sh_type != SHT_RELA && sh.sh_type != SHT_REL)
      continue;
    if (auto c = check_reloc_section(i); !c)
      return c;
    bool rela = sh.sh_type == SHT_RELA;
    if (skip_contents(sh.sh_info))
      continue;
    SectionId target = *raw_[sh.sh_info].model;
    Section &tsec = obj_.sections[target];
    auto cooked = cook_relocations(i, tsec, obj_.symbols.size());
    if (!cooked)
      return std::move(cooked).take_error();
    std::vector<Reloc> relocs = std::move(*cooked);
    bool livepatch = sh.sh_flags & SHF_RELA_LIVEPATCH;
    // An empty ordinary relocation section says nothing, and the writer emits none for a
    // section without relocations: recording its name or format would not survive a round
    // trip. (Livepatch ones are kept: extra_relocs are always written.)
    if (relocs.empty() && !livepatch)
      continue;
    bool primary = !livepatch && tsec.reloc_name.empty() && tsec.relocs.empty();
    if (primary) {
      set_primary_relocs(i, tsec, std::move(relocs));
    } else {
      if (!rela)
        return err_sec(i, "a second relocation section for one target must be SHT_RELA");
      obj_.extra_relocs.push_back(ExtraRelocSection{std::string(raw_[i].name), sh.sh_flags, target, std::move(relocs)});
    }
  }
  // The writer puts each extra relocation section right after its target, so that is their
  // order in any file it writes; keep the model in that order (file order among the extras
  // of one target) so that a round trip does not permute them.
  std::stable_sort(obj_.extra_relocs.begin(), obj_.extra_relocs.end(),
                   [](const ExtraRelocSection &a, const ExtraRelocSection &b) {
                     return to_index(a.target) < to_index(b.target);
                   });
  return {};
}

Expected<void> Reader::read_groups() {
  for (size_t i = 1; i < raw_.size(); i++) {
    if (!raw_[i].model || hdr(i).sh_type != SHT_GROUP)
      continue;
    const GElf_Shdr &sh = hdr(i);
    Section &g = obj_.sections[*raw_[i].model];
    if (sh.sh_link != symtab_idx_)
      return err_sec(i, fmt::format("bad sh_link {}: a section group must link to the symbol table", sh.sh_link));
    if (sh.sh_info >= obj_.symbols.size())
      return err_sec(i, fmt::format("group signature symbol {} is out of range ({} symbols)", sh.sh_info, obj_.symbols.size()));
    g.group_signature = SymbolId(static_cast<u32>(sh.sh_info));
    if (sh.sh_size < 4 || sh.sh_size % 4)
      return err_sec(i, "section group contents must be a flags word followed by 32-bit section indices");
    auto d = contents(i);
    if (!d)
      return std::move(d).take_error();
    if (d->size() < 4 || d->size() % 4)
      return err_sec(i, "section group contents must be a flags word followed by 32-bit section indices");
    const u8 *p = d->data();
    std::memcpy(&g.group_flags, p, 4);
    for (size_t off = 4; off < d->size(); off += 4) {
      u32 m;
      std::memcpy(&m, p + off, 4);
      if (m == 0 || m >= raw_.size())
        return err_sec(i, fmt::format("group member index {} is out of range", m));
      if (raw_[m].model) {
        g.group_members.push_back(*raw_[m].model);
      } else if (hdr(m).sh_type == SHT_RELA || hdr(m).sh_type == SHT_REL) {
        // The relocation section of a member is a member too; the writer re-adds it.
      } else {
        return err_sec(i, fmt::format("group member '{}' is not a regular section", raw_[m].name));
      }
    }
    g.size = 0; // content is structural; the writer computes it
  }
  return {};
}

// Checks the identification bytes and reads the ELF header and the section header table.
Expected<void> Reader::open(std::span<const u8> image) {
  image_ = image;
  if (image.size() < EI_NIDENT || std::memcmp(image.data(), ELFMAG, SELFMAG) != 0)
    return err("not an ELF file (bad magic)");
  if (image[EI_CLASS] != ELFCLASS64)
    return err("not a 64-bit ELF file (only ELFCLASS64 is supported)");
  if (image[EI_DATA] != ELFDATA2LSB)
    return err("not a little-endian ELF file (only ELFDATA2LSB is supported)");
  if (image.size() < sizeof(Elf64_Ehdr))
    return err(fmt::format("truncated ELF header ({} bytes, an ELF64 header has {})", image.size(), sizeof(Elf64_Ehdr)));
  for (auto step : {&Reader::read_header, &Reader::read_section_headers})
    if (auto r = (this->*step)(); !r)
      return r;
  return {};
}

Expected<ObjectFile> Reader::run(std::span<const u8> image) {
  obj_.path = name_;
  if (auto r = open(image); !r)
    return std::move(r).take_error();
  for (auto step : {&Reader::read_sections, &Reader::read_symbols, &Reader::read_relocations, &Reader::read_groups})
    if (auto r = (this->*step)(); !r)
      return std::move(r).take_error();
  return std::move(obj_);
}

// The same file as `model`, read for its .debug_* sections only: model ids are given to the
// sections in the order read_sections() gives them, and the file must still agree with the
// model on every section's name and size.
Expected<std::vector<std::pair<SectionId, Section>>> Reader::run_debug(std::span<const u8> image, const ObjectFile &model,
                                                                       bool (*wanted)(std::string_view), bool mapped) {
  if (auto r = open(image); !r)
    return std::move(r).take_error();
  auto changed = [&](std::string why) {
    return err(fmt::format("changed since it was first read ({}): read it again", why));
  };
  u32 next = 0;
  for (size_t i = 1; i < raw_.size(); i++) {
    if (!is_model_section(i))
      continue;
    SectionId id{next++};
    if (!model.sections.contains(id))
      return changed("more sections");
    const Section &m = model.sections[id];
    const Elf64_Shdr &sh = hdr(i);
    u64 size = sh.sh_size;
    if (sh.sh_flags & SHF_COMPRESSED && size >= sizeof(Elf64_Chdr) && sh.sh_offset <= image_.size() &&
        image_.size() - sh.sh_offset >= sizeof(Elf64_Chdr)) // the model has it inflated
      std::memcpy(&size, image_.data() + sh.sh_offset + offsetof(Elf64_Chdr, ch_size), sizeof size);
    if (m.name != raw_[i].name || (m.type != SHT_GROUP && m.size != size))
      return changed(fmt::format("section [{}] '{}'", i, raw_[i].name));
    raw_[i].model = id;
  }
  if (next != model.sections.size())
    return changed("fewer sections");
  if (nsyms_ != model.symbols.size() && !(nsyms_ == 0 && model.symbols.size() == 1))
    return changed(fmt::format("{} symbols, not {}", nsyms_, model.symbols.size()));
  std::vector<std::pair<SectionId, Section>> out;
  std::vector<size_t> index_of(model.sections.size(), SIZE_MAX); // model id -> position in out
  // A mapped file's pages count in the process's resident memory as long as they are mapped,
  // and the copies are being made while they are: the pages of each section read are given
  // back at once, not at the end (10,000-function unit: the diff's peak was this read, 7 MB
  // above the rest of the run). Pages are only dropped from this mapping, never written.
  auto done_with = [&](size_t i) {
    const Elf64_Shdr &file = table_[i]; // where the bytes are in the file (not the inflated size)
    if (!mapped || file.sh_type == SHT_NOBITS || file.sh_offset > image_.size() ||
        file.sh_size > image_.size() - file.sh_offset)
      return;
    uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    uintptr_t start = reinterpret_cast<uintptr_t>(image_.data()) + file.sh_offset;
    uintptr_t end = start + file.sh_size;
    start = (start + page - 1) & ~(page - 1);
    end &= ~(page - 1);
    if (end > start)
      ::madvise(reinterpret_cast<void *>(start), end - start, MADV_DONTNEED);
  };
  auto wants = [&](size_t i) {
    return raw_[i].model && raw_[i].name.starts_with(".debug_") && (!wanted || wanted(raw_[i].name));
  };
  for (size_t i = 1; i < raw_.size(); i++) {
    if (!wants(i))
      continue;
    index_of[to_index(*raw_[i].model)] = out.size();
    Section &sec = out.emplace_back(*raw_[i].model, Section{}).second;
    if (auto r = make_section(i, sec); !r)
      return std::move(r).take_error();
    done_with(i);
  }
  for (size_t i = 1; i < raw_.size(); i++) {
    const GElf_Shdr &sh = hdr(i);
    if (sh.sh_type != SHT_RELA && sh.sh_type != SHT_REL)
      continue;
    if (auto c = check_reloc_section(i); !c)
      return std::move(c).take_error();
    size_t at = index_of[to_index(*raw_[sh.sh_info].model)];
    if (at == SIZE_MAX)
      continue; // not a debug section's
    Section &tsec = out[at].second;
    auto cooked = cook_relocations(i, tsec, model.symbols.size());
    if (!cooked)
      return std::move(cooked).take_error();
    done_with(i);
    if (cooked->empty())
      continue;
    // Debug sections have one ordinary relocation section each (a second one, such as a
    // livepatch .klp.rela section, only ever applies to code).
    if (!tsec.relocs.empty() || (sh.sh_flags & SHF_RELA_LIVEPATCH))
      return err_sec(i, "a second relocation section for a debug section");
    set_primary_relocs(i, tsec, std::move(*cooked));
  }
  return out;
}

} // namespace

Expected<ObjectFile> read_object_from_memory(const std::string &name, std::span<const u8> image, const ReadOptions &opts) {
  Reader r(name, opts);
  return r.run(image);
}

// Calls `read(image, mapped)` with the contents of `path`, mapped (mapped = true), not read: a
// target vmlinux with debug info is ~600 MB, and a symbol-table-only read touches a few
// megabytes of it. Only what is not a regular file is read into memory (mapped = false).
template <typename T, typename F>
static Expected<T> with_file_image(const std::string &path, F read) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(Location(path), fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    auto buf = read_file(path); // not a regular file (a pipe): read it
    if (!buf)
      return std::move(buf).take_error();
    return read(std::span<const u8>(*buf), false);
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return read(std::span<const u8>(), false);
  }
  void *p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED)
    return make_error(Location(path), fmt::format("cannot map: {}", std::strerror(errno)));
  Expected<T> out = read(std::span<const u8>(static_cast<const u8 *>(p), size), true);
  ::munmap(p, size);
  return out;
}

Expected<ObjectFile> read_object(const std::string &path, const ReadOptions &opts) {
  return with_file_image<ObjectFile>(path, [&](std::span<const u8> image, bool) {
    return read_object_from_memory(path, image, opts);
  });
}

Expected<std::vector<std::pair<SectionId, Section>>> read_debug_sections(const ObjectFile &model,
                                                                         bool (*wanted)(std::string_view)) {
  using Out = std::vector<std::pair<SectionId, Section>>;
  return with_file_image<Out>(model.path, [&](std::span<const u8> image, bool mapped) -> Expected<Out> {
    Reader r(model.path, ReadOptions{});
    return r.run_debug(image, model, wanted, mapped);
  });
}

} // namespace kpg::elf
