// SPDX-License-Identifier: GPL-2.0-only
// verify() guards the writer against models that lib/diff got wrong: libelf must never
// be handed an index that points nowhere.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "elf/writer.h"
#include "elf_builder.h"
#include "test_support.h"

namespace kpg::elf::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class elf_verify : public ::testing::Test {
protected:
  std::string verify_error() {
    auto v = verify(obj);
    if (v) {
      ADD_FAILURE() << "verify() accepted a broken model";
      return {};
    }
    // The writer refuses the same model with the same message.
    auto w = write_object_to_memory(obj);
    if (w)
      ADD_FAILURE() << "the writer accepted a model verify() rejects";
    else
      EXPECT_EQ(w.error().str(), v.error().str());
    return v.error().str();
  }

  ObjectFile obj = must_read("mini.o", MiniObject().build());
  Section &text() { return obj.sections[*obj.find_section(".text")]; }
};

TEST_F(elf_verify, AcceptsWhatTheReaderProduced) {
  auto v = verify(obj);
  EXPECT_TRUE(v) << v.error().str();
}

TEST_F(elf_verify, RejectsRelocationToNonexistentSymbol) {
  text().relocs[1].sym = SymbolId{99};
  EXPECT_THAT(verify_error(), AllOf(StartsWith("mini.o: .text+0x8: "), HasSubstr("symbol id 99")));
}

TEST_F(elf_verify, RejectsRelocationPastSectionEnd) {
  text().relocs[0].offset = 16;
  EXPECT_THAT(verify_error(), AllOf(StartsWith("mini.o: .text+0x10: "), HasSubstr("outside the section")));
}

TEST_F(elf_verify, RejectsExtraRelocationToNonexistentSymbol) {
  obj.extra_relocs.push_back({".klp.rela.vmlinux..text", SHF_RELA_LIVEPATCH, *obj.find_section(".text"),
                              {{0, R_X86_64_64, SymbolId{42}, 0}}});
  EXPECT_THAT(verify_error(), AllOf(StartsWith("mini.o: .klp.rela.vmlinux..text: "), HasSubstr("symbol id 42")));
}

TEST_F(elf_verify, RejectsSymbolInNonexistentSection) {
  obj.symbols[*obj.find_symbol("func")].section = SectionId{50};
  EXPECT_THAT(verify_error(), AllOf(StartsWith("mini.o: (func): "), HasSubstr("section that does not exist")));
}

TEST_F(elf_verify, RejectsLinkToNonexistentSection) {
  text().link = SectionId{7};
  EXPECT_THAT(verify_error(), AllOf(StartsWith("mini.o: .text: "), HasSubstr("section id 7")));
}

TEST_F(elf_verify, RejectsDataSizeMismatch) {
  text().size = 32;
  EXPECT_THAT(verify_error(), AllOf(StartsWith("mini.o: .text: "), HasSubstr("differs from section size")));
}

} // namespace
} // namespace kpg::elf::test
