// SPDX-License-Identifier: GPL-2.0-only
// The model may hold symbols in any order (lib/diff appends locals after globals); ELF wants
// locals first with .symtab's sh_info = index of the first non-local. The writer reorders
// and renumbers every reference.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "elf/dump.h"
#include "elf_builder.h"
#include "test_support.h"

namespace kpg::elf::test {
namespace {

using ::testing::ElementsAre;

class elf_symbol_order : public ::testing::Test {
protected:
  void SetUp() override {
    obj.path = "model.o";
    obj.add_symbol({});
    text = obj.add_section({.name = ".text.f", .flags = SHF_ALLOC | SHF_EXECINSTR | SHF_GROUP,
                            .data = std::vector<u8>(16, 0x90), .size = 16});
    SectionId data = obj.add_section({.name = ".data.v", .flags = SHF_ALLOC | SHF_WRITE,
                                      .data = std::vector<u8>(8, 0), .size = 8});
    // Model order: null, global f, global ext, local v, local section symbol.
    SymbolId f = obj.add_symbol({.name = "f", .bind = STB_GLOBAL, .type = STT_FUNC, .section = text, .size = 16});
    SymbolId ext = obj.add_symbol({.name = "ext", .bind = STB_GLOBAL});
    SymbolId v = obj.add_symbol({.name = "v", .type = STT_OBJECT, .section = data, .size = 8});
    SymbolId sec = obj.add_symbol({.type = STT_SECTION, .section = data});
    obj.sections[text].relocs = {{1, R_X86_64_PLT32, ext, -4}, {5, R_X86_64_PC32, v, -4},
                                 {9, R_X86_64_PC32, sec, 4}, {12, R_X86_64_32S, f, 0}};
    // A COMDAT group signed by f, whose output index is not its model index either.
    obj.add_section({.name = ".group", .type = SHT_GROUP, .addralign = 4, .entsize = 4, .group_signature = f,
                     .group_flags = GRP_COMDAT, .group_members = {text}});
    image = must_write(obj);
    view = view_sections(image);
  }

  ObjectFile obj;
  SectionId text{0};
  std::vector<u8> image;
  ShdrView view;
};

TEST_F(elf_symbol_order, AreWrittenLocalsFirst) {
  auto syms = entries_of<Elf64_Sym>(image, view.shdrs[*view.find(".symtab")]);
  std::vector<int> binds;
  for (const Elf64_Sym &s : syms)
    binds.push_back(ELF64_ST_BIND(s.st_info));
  EXPECT_THAT(binds, ElementsAre(STB_LOCAL, STB_LOCAL, STB_LOCAL, STB_GLOBAL, STB_GLOBAL));
}

TEST_F(elf_symbol_order, SymtabInfoIsTheFirstGlobal) {
  EXPECT_EQ(view.shdrs[*view.find(".symtab")].sh_info, 3u);
}

TEST_F(elf_symbol_order, RelocationsStillNameTheirSymbols) {
  ObjectFile out = must_read("out.o", image);
  const Section &t = out.sections[*out.find_section(".text.f")];
  ASSERT_EQ(t.relocs.size(), obj.sections[text].relocs.size());
  for (size_t i = 0; i < t.relocs.size(); i++) {
    const Reloc &before = obj.sections[text].relocs[i], &after = t.relocs[i];
    EXPECT_EQ(out.symbol_name(after.sym), obj.symbol_name(before.sym)) << "relocation " << i;
    EXPECT_EQ(out.symbols[after.sym].type, obj.symbols[before.sym].type) << "relocation " << i;
    EXPECT_EQ(after.addend, before.addend);
  }
  // And objdump agrees, independently of our reader.
  TempDir dir;
  write_bytes(dir.file("out.o"), image);
  std::string dis = run_ok("objdump -r " + dir.file("out.o"));
  EXPECT_NE(dis.find("R_X86_64_PLT32    ext-0x0000000000000004"), std::string::npos) << dis;
  EXPECT_NE(dis.find("R_X86_64_PC32     v-0x0000000000000004"), std::string::npos) << dis;
  EXPECT_NE(dis.find("R_X86_64_PC32     .data.v+0x0000000000000004"), std::string::npos) << dis;
  EXPECT_NE(dis.find("R_X86_64_32S      f"), std::string::npos) << dis;
}

TEST_F(elf_symbol_order, GroupSignatureFollowsItsSymbol) {
  ObjectFile out = must_read("out.o", image);
  const Section &g = out.sections[*out.find_section(".group")];
  ASSERT_TRUE(g.group_signature);
  EXPECT_EQ(out.symbol_name(*g.group_signature), "f");
  EXPECT_NE(to_index(*g.group_signature), 1u); // f was model symbol 1, it is now after the locals
}

} // namespace
} // namespace kpg::elf::test
