// SPDX-License-Identifier: GPL-2.0-only
// compile_units(): per unit name, comp dir, producer and the functions with their sizes.
#include <gtest/gtest.h>

#include <set>

#include "dwarf/dwarf.h"
#include "dwarf_test_util.h"

namespace kpg::dwarf::test {
namespace {

// A tiny freestanding program: linked with -nostdlib -static, entry point _start.
const char *const kProgram = R"(
volatile int sink;
__attribute__((noinline)) int square(int x) { return x * x + sink; }
static inline int twice(int x) { return 2 * x + sink; }
int (*volatile fp)(int) = twice;  /* forces an out-of-line copy of the inline */
__attribute__((cold, noinline)) void slow_path(int x) { sink = x; }
__attribute__((noinline)) int maybe_slow(int x)
{
	if (__builtin_expect(x > 1000, 0)) {
		slow_path(x);
		slow_path(x + 1);
		sink = x * 3;
	}
	return x + 1;
}
__attribute__((noreturn)) void _start(void)
{
	sink = square(sink) + fp(3) + maybe_slow(sink);
	for (;;)
		;
}
)";

const char *const kUtil = "int util_add(int a, int b) { return a + b; }\n";

CuOptions with_functions(std::vector<std::string> only_names = {}) {
  CuOptions o;
  o.functions = true;
  o.only_names = std::move(only_names);
  return o;
}

CuOptions only(std::vector<std::string> only_names) {
  CuOptions o;
  o.only_names = std::move(only_names);
  return o;
}

class CompileUnits : public ::testing::TestWithParam<int> {
protected:
  TempDir dir;
  std::string flags() const { return "-O2 -g -ffunction-sections " + dwarf_flag(GetParam()); }
  std::string link_program() {
    write_text(dir.file("main.c"), kProgram);
    write_text(dir.file("util.c"), kUtil);
    run_ok(dir.path(), "gcc " + flags() + " -fno-pie -no-pie -nostdlib -static main.c util.c -o prog");
    return dir.file("prog");
  }
};

TEST_P(CompileUnits, ProducerRecordsTheCompilerAndItsFlags) {
  auto units = compile_units(link_program());
  ASSERT_TRUE(units) << units.error().str();
  ASSERT_EQ(units->size(), 2u);
  for (const CompileUnit &u : *units) {
    EXPECT_NE(u.producer.find("GNU C"), std::string::npos) << u.producer;
    EXPECT_NE(u.producer.find("-O2"), std::string::npos) << u.producer;
  }
}

TEST_P(CompileUnits, NameAndCompDirComeFromTheUnit) {
  auto units = compile_units(link_program());
  ASSERT_TRUE(units) << units.error().str();
  ASSERT_EQ(units->size(), 2u);
  EXPECT_EQ((*units)[0].name, "main.c");
  EXPECT_EQ((*units)[1].name, "util.c");
  EXPECT_EQ((*units)[0].comp_dir, dir.path());
}

TEST_P(CompileUnits, FunctionsAreListedOnlyWhenAsked) {
  auto units = compile_units(link_program());
  ASSERT_TRUE(units) << units.error().str();
  for (const CompileUnit &u : *units)
    EXPECT_TRUE(u.functions.empty());
}

TEST_P(CompileUnits, FunctionAddressesAndSizesMatchTheSymbolTable) {
  std::string prog = link_program();
  auto units = compile_units(prog, with_functions());
  ASSERT_TRUE(units) << units.error().str();
  elf::ObjectFile elf = must_read(prog);
  std::set<std::string> seen;
  for (const CompileUnit &u : *units)
    for (const FunctionInfo &f : u.functions) {
      SCOPED_TRACE(f.name);
      const elf::Symbol &sym = must_find_symbol(elf, f.name);
      EXPECT_EQ(f.low_pc, sym.value);
      EXPECT_EQ(f.size, sym.size);
      seen.insert(f.name);
    }
  EXPECT_EQ(seen, (std::set<std::string>{"square", "twice", "slow_path", "maybe_slow", "_start", "util_add"}));
}

// GCC moves the unlikely block of maybe_slow into maybe_slow.cold (.text.unlikely); the DIE
// then has DW_AT_ranges. The reported size is the hot part, which the symbol describes.
TEST_P(CompileUnits, SplitFunctionReportsThePartWithTheEntryPoint) {
  std::string prog = link_program();
  elf::ObjectFile elf = must_read(prog);
  if (!elf.find_symbol("maybe_slow.cold"))
    GTEST_SKIP() << "this GCC did not split maybe_slow into hot and cold parts";
  auto units = compile_units(prog, with_functions());
  ASSERT_TRUE(units) << units.error().str();
  const elf::Symbol &sym = must_find_symbol(elf, "maybe_slow");
  bool found = false;
  for (const FunctionInfo &f : (*units)[0].functions)
    if (f.name == "maybe_slow") {
      found = true;
      EXPECT_EQ(f.low_pc, sym.value);
      EXPECT_EQ(f.size, sym.size);
    }
  EXPECT_TRUE(found);
}

TEST_P(CompileUnits, OnlyNamesKeepsUnitsWhoseNameEndsWithOne) {
  auto units = compile_units(link_program(), with_functions({"util.c"}));
  ASSERT_TRUE(units) << units.error().str();
  ASSERT_EQ(units->size(), 1u);
  EXPECT_EQ((*units)[0].name, "util.c");
  ASSERT_EQ((*units)[0].functions.size(), 1u);
  EXPECT_EQ((*units)[0].functions[0].name, "util_add");
}

TEST_P(CompileUnits, OnlyNamesMatchesWholePathComponents) {
  auto units = compile_units(link_program(), only({"til.c"}));
  ASSERT_TRUE(units) << units.error().str();
  EXPECT_TRUE(units->empty());
}

INSTANTIATE_TEST_SUITE_P(Dwarf, CompileUnits, ::testing::Values(4, 5), dwarf_version_name);

} // namespace
} // namespace kpg::dwarf::test
