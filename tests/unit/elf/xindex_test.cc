// SPDX-License-Identifier: GPL-2.0-only
// Extended section numbering. vmlinux.o and big -ffunction-sections objects (allyesconfig
// builds) have more than SHN_LORESERVE (0xff00) sections: e_shnum becomes 0 with the real
// count in section 0's sh_size, e_shstrndx becomes SHN_XINDEX with the real index in
// section 0's sh_link, and symbols of sections beyond 0xff00 carry SHN_XINDEX with the
// index in .symtab_shndx. The model hides all of that.
#include <gtest/gtest.h>

#include <memory>
#include <regex>

#include "elf/dump.h"
#include "elf/writer.h"
#include "elf_builder.h"
#include "test_support.h"

namespace kpg::elf::test {
namespace {

constexpr int kFunctions = 70000;

class elf_xindex : public ::testing::Test {
protected:
  // Assembling 70,000 sections takes a few seconds: once for the whole suite.
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    std::string src;
    src.reserve(kFunctions * 90);
    for (int i = 0; i < kFunctions; i++)
      src += ".section .text.f" + std::to_string(i) + ",\"ax\",@progbits\n.globl f" + std::to_string(i) + "\nf" +
             std::to_string(i) + ": ret\n";
    in_path_ = assemble(*dir_, "many", src);
    in_ = std::make_unique<ObjectFile>(must_read(in_path_));
    out_path_ = dir_->file("out.o");
    if (auto w = write_object(*in_, out_path_); !w)
      throw std::runtime_error(w.error().str());
    out_image_ = read_bytes(out_path_);
  }
  static void TearDownTestSuite() {
    in_.reset();
    dir_.reset();
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<ObjectFile> in_;
  static inline std::string in_path_, out_path_;
  static inline std::vector<u8> out_image_;
};

TEST_F(elf_xindex, InputReallyNeedsIt) {
  ShdrView v = view_sections(read_bytes(in_path_));
  EXPECT_EQ(v.e_shnum, 0);
  EXPECT_GT(v.shnum, static_cast<u64>(SHN_LORESERVE));
  EXPECT_TRUE(v.find(".symtab_shndx"));
}

TEST_F(elf_xindex, SymbolBeyond0xff00ResolvesToItsSection) {
  ShdrView v = view_sections(read_bytes(in_path_));
  std::string last = "f" + std::to_string(kFunctions - 1);
  ASSERT_GT(*v.find(".text." + last), static_cast<size_t>(SHN_LORESERVE));

  auto id = in_->find_symbol(last);
  ASSERT_TRUE(id);
  const Symbol &s = in_->symbols[*id];
  ASSERT_TRUE(s.section);
  EXPECT_EQ(in_->sections[*s.section].name, ".text." + last);
  EXPECT_EQ(s.special_shndx, SHN_UNDEF);
}

TEST_F(elf_xindex, WriterUsesShnXindexEncoding) {
  ShdrView v = view_sections(out_image_);
  EXPECT_EQ(v.e_shnum, 0);
  EXPECT_EQ(v.e_shstrndx, SHN_XINDEX);
  EXPECT_EQ(v.shnum, v.shdrs[0].sh_size);
  EXPECT_EQ(v.names.at(v.shstrndx), ".shstrtab");
  auto shndx = v.find(".symtab_shndx");
  ASSERT_TRUE(shndx);
  EXPECT_EQ(v.shdrs[*shndx].sh_type, static_cast<u32>(SHT_SYMTAB_SHNDX));
  EXPECT_EQ(v.shdrs[*shndx].sh_link, *v.find(".symtab"));
  EXPECT_EQ(v.shdrs[*shndx].sh_size / 4, v.shdrs[*v.find(".symtab")].sh_size / sizeof(Elf64_Sym));
}

TEST_F(elf_xindex, RoundTripIsEqual) {
  ObjectFile out = must_read(out_path_);
  EXPECT_TRUE(in_->same_content(out));
}

TEST_F(elf_xindex, ReadelfAgreesOnTheHeader) {
  // Same layout as GNU as, so every header field except the section header offset agrees,
  // including "Number of section headers: 0 (70004)".
  auto header = [](const std::string &path) {
    std::string h = run_ok("readelf -hW " + path);
    return std::regex_replace(h, std::regex(R"(Start of section headers:\s+\d+)"), "");
  };
  std::string out = header(out_path_);
  EXPECT_EQ(header(in_path_), out);
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(Number of section headers:\s+0 \(\d+\))"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(Section header string table index:\s+65535 \(\d+\))"))) << out;
}

} // namespace
} // namespace kpg::elf::test
