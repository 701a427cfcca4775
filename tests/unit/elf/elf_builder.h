// SPDX-License-Identifier: GPL-2.0-only
//
// A small in-memory ELF64 builder for tests (the yaml2obj idea, without the YAML): sections
// are plain structs with their raw header fields, and build() lays out the ELF header,
// contents, a generated .shstrtab and the section header table. Nothing is validated --
// tests use it to produce exactly the malformation they need, which a real assembler
// would refuse to emit.
#pragma once
#include <elf.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/types.h"

namespace kpg::elf::test {

// Raw bytes of a vector of PODs (Elf64_Sym, Elf64_Rela, u32 group words, ...).
template <typename T> std::vector<u8> bytes_of(const std::vector<T> &v) {
  std::vector<u8> b(v.size() * sizeof(T));
  if (!b.empty())
    std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// A string table under construction. No deduplication: tests control the layout.
class StringTable {
public:
  u32 add(std::string_view s);
  std::vector<u8> bytes() const { return std::vector<u8>(buf_.begin(), buf_.end()); }
  u32 size() const { return static_cast<u32>(buf_.size()); }

private:
  std::string buf_{std::string(1, '\0')};
};

struct RawSection {
  std::string name;
  u32 type = SHT_PROGBITS;
  u64 flags = 0;
  u32 link = 0;
  u32 info = 0;
  u64 addralign = 1;
  u64 entsize = 0;
  std::vector<u8> data;
  // Malformation hooks: when set, written verbatim instead of the computed value.
  std::optional<u32> name_offset;
  std::optional<u64> offset;
  std::optional<u64> size;
};

class ElfBuilder {
public:
  ElfBuilder() { sections.push_back(RawSection{}); } // index 0: the null section

  // Appends a section and returns its file index. The generated .shstrtab always comes last.
  u32 add(RawSection s);
  u32 shstrtab_index() const { return static_cast<u32>(sections.size()); }
  std::vector<u8> build() const;

  u8 ei_class = ELFCLASS64;
  u8 ei_data = ELFDATA2LSB;
  u16 type = ET_REL;
  u16 machine = EM_X86_64;
  std::optional<u16> shstrndx; // default: the generated .shstrtab
  std::vector<RawSection> sections;
};

Elf64_Sym make_sym(u32 name, u8 bind, u8 type, u16 shndx, u64 value = 0, u64 size = 0);
Elf64_Rela make_rela(u64 offset, u32 sym, u32 type, i64 addend);

// A tiny valid relocatable object, the starting point each malformation test bends:
//   [1] .text  [2] .data  [3] .rela.text  [4] .symtab  [5] .strtab  [6] .shstrtab
// symbols: 0 null, 1 section(.text), 2 local_var (LOCAL, .data), 3 func (GLOBAL, .text),
//          4 ext (GLOBAL, undefined)
// relocations of .text: +1 PLT32 ext-4, +8 PC32 local_var-4
struct MiniObject {
  static constexpr u32 kText = 1, kData = 2, kRelaText = 3, kSymtab = 4, kStrtab = 5, kShstrtab = 6;
  static constexpr u32 kSymSection = 1, kSymLocal = 2, kSymFunc = 3, kSymExt = 4;

  MiniObject();
  // Encodes syms/relas/strtab into their sections, then lays out the file.
  std::vector<u8> build();

  ElfBuilder b;
  StringTable strtab;
  std::vector<Elf64_Sym> syms;
  std::vector<Elf64_Rela> relas;
};

// Section headers of an image, decoded independently of lib/elf (handles extended numbering):
// lets tests check what the writer put in the file without trusting the reader.
struct ShdrView {
  u16 e_shnum = 0;
  u16 e_shstrndx = 0;
  u64 shnum = 0;    // the real count
  u64 shstrndx = 0; // the real index
  std::vector<Elf64_Shdr> shdrs;
  std::vector<std::string> names;
  std::optional<size_t> find(std::string_view name) const;
};
ShdrView view_sections(const std::vector<u8> &image);

// The contents of a section of `image` as an array of T (symbols, relocations, words).
template <typename T> std::vector<T> entries_of(const std::vector<u8> &image, const Elf64_Shdr &sh) {
  std::vector<T> v(sh.sh_size / sizeof(T));
  if (!v.empty())
    std::memcpy(v.data(), image.data() + sh.sh_offset, v.size() * sizeof(T));
  return v;
}

} // namespace kpg::elf::test
