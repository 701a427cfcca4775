// SPDX-License-Identifier: GPL-2.0-only
// A round-tripped kernel-style object tells binutils the same story as the original:
// readelf's section, symbol, relocation and group listings and objdump's disassembly with
// relocations agree, except for file offsets (the writer lays the file out itself).
#include <gtest/gtest.h>

#include <memory>
#include <regex>

#include "elf/writer.h"
#include "test_support.h"

namespace kpg::elf::test {
namespace {

class elf_readelf : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    in_ = compile_c(*dir_, "in", kKernelStyleC, "-g");
    out_ = dir_->file("out.o");
    if (auto w = write_object(must_read(in_), out_); !w)
      throw std::runtime_error(w.error().str());
  }
  static void TearDownTestSuite() { dir_.reset(); }

  struct Edit {
    std::regex re;
    std::string replacement;
  };
  // Runs `tool` on both files and compares the outputs after `edits` (which drop what may
  // legitimately differ); file names are masked so that only content is compared.
  static void expect_same(const std::string &tool, const std::vector<Edit> &edits = {}) {
    auto clean = [&](const std::string &path) {
      std::string text = run_ok(tool + " " + path);
      for (size_t p; (p = text.find(path)) != std::string::npos;)
        text.replace(p, path.size(), "FILE");
      for (const Edit &e : edits)
        text = std::regex_replace(text, e.re, e.replacement);
      return text;
    };
    std::string before = clean(in_), after = clean(out_);
    EXPECT_FALSE(before.empty());
    EXPECT_EQ(before, after) << tool;
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::string in_, out_;
};

TEST_F(elf_readelf, SectionHeadersMatchExceptOffsets) {
  // "  [ 5] .text.foo  PROGBITS  0000000000000000 00004c 000006 ..." -> drop the Off column,
  // and the section header table's own offset in the summary line.
  // .shstrtab's size differs too: GNU as shares suffixes (".text.f" inside ".rela.text.f"),
  // the writer only shares whole names.
  expect_same("readelf -SW", {{std::regex(R"((\[\s*\d+\].*? [0-9a-f]{16}) [0-9a-f]{6,} )"), "$1 OFFSET "},
                              {std::regex(R"(starting at offset 0x[0-9a-f]+)"), "starting at OFFSET"},
                              {std::regex(R"((\.shstrtab\s+STRTAB\s+[0-9a-f]{16} OFFSET) [0-9a-f]{6,})"), "$1 SIZE"}});
}

TEST_F(elf_readelf, SymbolTablesMatch) { expect_same("readelf -sW"); }

TEST_F(elf_readelf, RelocationsMatchExceptSectionOffsets) {
  expect_same("readelf -rW", {{std::regex(R"( at offset 0x[0-9a-f]+)"), ""}});
}

TEST_F(elf_readelf, SectionGroupsMatch) {
  ASSERT_NE(run_ok("readelf -gW " + in_).find("COMDAT group section"), std::string::npos);
  expect_same("readelf -gW");
}

TEST_F(elf_readelf, DisassemblyWithRelocationsMatches) { expect_same("objdump -d -r"); }

} // namespace
} // namespace kpg::elf::test
