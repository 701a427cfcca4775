// SPDX-License-Identifier: GPL-2.0-only
// The writer regenerates .strtab and .shstrtab from the model's std::string names.
#include <gtest/gtest.h>

#include "elf/dump.h"
#include "elf_builder.h"
#include "test_support.h"

namespace kpg::elf::test {
namespace {

// .text and .data and the null symbol; tests add what they need.
ObjectFile base() {
  ObjectFile o;
  o.path = "model.o";
  o.add_symbol({});
  o.add_section({.name = ".text", .flags = SHF_ALLOC | SHF_EXECINSTR, .data = std::vector<u8>(16, 0xcc), .size = 16});
  o.add_section({.name = ".data", .flags = SHF_ALLOC | SHF_WRITE, .data = std::vector<u8>(8, 0), .size = 8});
  return o;
}

size_t count(const std::string &haystack, const std::string &needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1))
    n++;
  return n;
}

std::string table_text(const std::vector<u8> &image, const ShdrView &v, const std::string &name) {
  const Elf64_Shdr &sh = v.shdrs.at(v.find(name).value());
  return std::string(image.begin() + static_cast<long>(sh.sh_offset),
                     image.begin() + static_cast<long>(sh.sh_offset + sh.sh_size));
}

TEST(elf_strtab, SectionNamesAreDeduplicated) {
  ObjectFile obj = base();
  Section dup{.name = ".text.dup", .flags = SHF_ALLOC | SHF_EXECINSTR, .data = {0xc3}, .size = 1};
  obj.add_section(dup);
  obj.add_section(dup);
  std::vector<u8> image = must_write(obj);
  ShdrView v = view_sections(image);

  EXPECT_EQ(count(table_text(image, v, ".shstrtab"), std::string(".text.dup") + '\0'), 1u);
  size_t first = v.find(".text.dup").value();
  EXPECT_EQ(v.shdrs[first].sh_name, v.shdrs[first + 1].sh_name);
  EXPECT_TRUE(obj.same_content(rewrite(obj)));
}

TEST(elf_strtab, SymbolNamesAreDeduplicated) {
  // Two file-local statics with the same name in different functions' sections.
  ObjectFile obj = base();
  SectionId text = *obj.find_section(".text"), data = *obj.find_section(".data");
  obj.add_symbol({.name = "state.0", .type = STT_OBJECT, .section = text});
  obj.add_symbol({.name = "state.0", .type = STT_OBJECT, .section = data});
  std::vector<u8> image = must_write(obj);
  ShdrView v = view_sections(image);

  std::string strtab = table_text(image, v, ".strtab");
  EXPECT_EQ(count(strtab, std::string("\0state.0\0", 9)), 1u);
  std::vector<u32> offsets;
  for (const Elf64_Sym &s : entries_of<Elf64_Sym>(image, v.shdrs[*v.find(".symtab")]))
    if (std::string_view(strtab.c_str() + s.st_name) == "state.0")
      offsets.push_back(s.st_name);
  ASSERT_EQ(offsets.size(), 2u);
  EXPECT_EQ(offsets[0], offsets[1]);
}

TEST(elf_strtab, EmptyNamesUseOffsetZero) {
  ObjectFile obj = base();
  obj.add_section({.name = "", .data = {1, 2}, .size = 2});
  SectionId data = *obj.find_section(".data");
  obj.add_symbol({.name = "", .type = STT_SECTION, .section = data});
  obj.add_symbol({.name = "", .type = STT_NOTYPE, .section = data, .value = 4});
  std::vector<u8> image = must_write(obj);
  ShdrView v = view_sections(image);

  for (size_t i = 1; i < v.shdrs.size(); i++)
    EXPECT_EQ(v.shdrs[i].sh_name == 0, v.names[i].empty()) << "section " << i;
  // All symbols are local, so the file order is the model order.
  auto syms = entries_of<Elf64_Sym>(image, v.shdrs[*v.find(".symtab")]);
  ASSERT_EQ(syms.size(), obj.symbols.size());
  for (SymbolId id : obj.symbols.ids())
    EXPECT_EQ(syms[to_index(id)].st_name == 0, obj.symbols[id].name.empty()) << "symbol " << to_index(id);
  ObjectFile out = rewrite(obj);
  EXPECT_TRUE(obj.same_content(out)) << dump(out);
}

TEST(elf_strtab, SymbolMayShareItsNameWithASection) {
  // Section names go to .shstrtab and symbol names to .strtab: the same string in both must
  // not confuse either table (assemblers emit such symbols, e.g. for named sections).
  ObjectFile obj = base();
  SectionId text = *obj.find_section(".text");
  SymbolId sym = obj.add_symbol({.name = ".text", .bind = STB_GLOBAL, .type = STT_NOTYPE, .section = text, .value = 4});
  std::vector<u8> image = must_write(obj);
  ShdrView v = view_sections(image);
  EXPECT_EQ(count(table_text(image, v, ".strtab"), std::string(".text") + '\0'), 1u);

  ObjectFile out = rewrite(obj);
  EXPECT_TRUE(obj.same_content(out)) << dump(out);
  ASSERT_TRUE(out.find_symbol(".text"));
  EXPECT_EQ(out.symbols[*out.find_symbol(".text")].value, 4u);
  EXPECT_EQ(out.sections[*out.symbols[*out.find_symbol(".text")].section].name, ".text");
  EXPECT_EQ(to_index(*out.find_symbol(".text")), to_index(sym));
}

} // namespace
} // namespace kpg::elf::test
