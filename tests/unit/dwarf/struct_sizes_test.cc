// SPDX-License-Identifier: GPL-2.0-only
// struct_sizes(): byte sizes of complete structs, as used for special-section entry sizes.
#include <gtest/gtest.h>

#include "dwarf/dwarf.h"
#include "dwarf_test_util.h"

namespace kpg::dwarf::test {
namespace {

// Kernel 6.1 x86-64 layouts (CONFIG_GENERIC_BUG_RELATIVE_POINTERS, CONFIG_DEBUG_BUGVERBOSE).
const char *const kSpecialStructs = R"(
struct bug_entry { int bug_addr_disp; int file_disp; unsigned short line; unsigned short flags; };
struct jump_entry { int code; int target; long key; };
struct orc_entry { short sp_offset; short bp_offset; unsigned sp_reg:4, bp_reg:4, type:2, signal:1, end:1; } __attribute__((packed));
struct bug_entry bugs[2];
struct jump_entry jumps[2];
struct orc_entry orcs[2];
)";

class StructSizes : public ::testing::TestWithParam<int> {
protected:
  TempDir dir;
  std::string flags() const { return std::string(kKernelCflags) + " " + dwarf_flag(GetParam()); }
};

TEST_P(StructSizes, FindsTheSizeOfACompleteStruct) {
  std::string obj = compile(dir, "special.c", kSpecialStructs, flags());
  auto sizes = struct_sizes(obj, {"bug_entry", "jump_entry", "orc_entry"});
  ASSERT_TRUE(sizes) << sizes.error().str();
  EXPECT_EQ(*sizes, (std::map<std::string, u64>{{"bug_entry", 12}, {"jump_entry", 16}, {"orc_entry", 6}}));
}

TEST_P(StructSizes, NameNotDefinedAnywhereIsAbsent) {
  std::string obj = compile(dir, "special.c", kSpecialStructs, flags());
  auto sizes = struct_sizes(obj, {"jump_entry", "pi_entry"});
  ASSERT_TRUE(sizes) << sizes.error().str();
  EXPECT_EQ(sizes->count("pi_entry"), 0u);
  EXPECT_EQ(sizes->at("jump_entry"), 16u);
}

TEST_P(StructSizes, DeclarationAloneGivesNoSize) {
  std::string obj = compile(dir, "decl.c", "struct alt_instr;\nstruct alt_instr *alt_ptr;\n", flags());
  auto sizes = struct_sizes(obj, {"alt_instr"});
  ASSERT_TRUE(sizes) << sizes.error().str();
  EXPECT_TRUE(sizes->empty());
}

TEST_P(StructSizes, DeclarationInAnEarlierUnitIsSkippedForTheDefinition) {
  compile(dir, "decl.c", "struct alt_instr;\nstruct alt_instr *alt_ptr;\n", flags());
  compile(dir, "def.c", "struct alt_instr { int a, b; short c; unsigned char d, e; };\nstruct alt_instr alts[1];\n",
          flags());
  run_ok(dir.path(), "ld -r decl.o def.o -o both.o");
  auto sizes = struct_sizes(dir.file("both.o"), {"alt_instr"});
  ASSERT_TRUE(sizes) << sizes.error().str();
  EXPECT_EQ(sizes->at("alt_instr"), 12u);
}

TEST_P(StructSizes, FileWithoutDebugInfoIsAnError) {
  std::string obj = compile(dir, "nodebug.c", kSpecialStructs, flags() + " -g0");
  auto sizes = struct_sizes(obj, {"bug_entry"});
  ASSERT_FALSE(sizes);
  EXPECT_NE(sizes.error().str().find("nodebug.o"), std::string::npos) << sizes.error().str();
}

TEST_P(StructSizes, MissingFileIsAnError) {
  auto sizes = struct_sizes("/nonexistent/vmlinux", {"bug_entry"});
  ASSERT_FALSE(sizes);
  EXPECT_NE(sizes.error().str().find("/nonexistent/vmlinux"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Dwarf, StructSizes, ::testing::Values(4, 5), dwarf_version_name);

} // namespace
} // namespace kpg::dwarf::test
