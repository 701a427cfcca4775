// SPDX-License-Identifier: GPL-2.0-only
// ObjectDebugInfo: lines and inlining at (section, offset) of a -ffunction-sections object.
#include <gtest/gtest.h>

#include <filesystem>

#include "dwarf/dwarf.h"
#include "dwarf_test_util.h"

namespace kpg::dwarf::test {
namespace {

// Markers in comments name the lines the tests expect. Every function is in its own
// .text.<name> section at offset 0.
const char *const kSource = R"(volatile int sink;

int first(int a)
{ /* FIRST_BRACE */
	return a + sink;
}

int second(int x)
{ /* SECOND_BRACE */
	return x * 42; /* SECOND_RETURN */
}

static inline __attribute__((always_inline)) int helper(int x)
{
	return x * 42 + sink; /* HELPER_BODY */
}

int caller(int y)
{
	int r = helper(y); /* CALL_HELPER */
	return r ^ 3;
}

static inline __attribute__((always_inline)) int inner(int x)
{
	return x * 42 + sink; /* INNER_BODY */
}

static inline __attribute__((always_inline)) int middle(int x)
{
	return inner(x + 1) - 5; /* CALL_INNER */
}

int outer(int z)
{
	return middle(z) * 2; /* CALL_MIDDLE */
}
)";

class ObjectInfo : public ::testing::TestWithParam<int> {
protected:
  TempDir dir;
  std::string flags(const std::string &extra = "") const {
    return std::string(kKernelCflags) + " " + dwarf_flag(GetParam()) + " " + extra;
  }
  elf::ObjectFile compile_source(const std::string &extra = "") {
    return must_read(compile(dir, "lines.c", kSource, flags(extra)));
  }
  static ObjectDebugInfo must_load(const elf::ObjectFile &obj) {
    auto info = ObjectDebugInfo::load(obj);
    if (!info)
      throw std::runtime_error(info.error().str());
    return std::move(*info);
  }
  // Offset of `x * 42` (imul $0x2a) in the function's section.
  static u64 imul_offset(const elf::ObjectFile &obj, elf::SectionId sec) {
    auto off = find_imul_imm8(obj.sections[sec].data, 42);
    if (!off)
      throw std::runtime_error("no imul $42 in " + obj.sections[sec].name);
    return *off;
  }
};

TEST_P(ObjectInfo, LineAtOffsetZeroOfAFunctionIsItsOpeningBrace) {
  elf::ObjectFile obj = compile_source();
  ObjectDebugInfo info = must_load(obj);
  ASSERT_TRUE(info.has_info());
  // Offset 0 is the `call __fentry__` of -mfentry -pg, attributed to the opening brace.
  EXPECT_EQ(info.line_at(must_find_section(obj, ".text.second"), 0), line_of(kSource, "SECOND_BRACE"));
}

TEST_P(ObjectInfo, LineAtAnInstructionOfTheSecondFunctionIsItsStatement) {
  elf::ObjectFile obj = compile_source();
  ObjectDebugInfo info = must_load(obj);
  elf::SectionId sec = must_find_section(obj, ".text.second");
  EXPECT_EQ(info.line_at(sec, imul_offset(obj, sec)), line_of(kSource, "SECOND_RETURN"));
}

// The point of the fake addresses: both functions start at offset 0 of their own section.
TEST_P(ObjectInfo, FunctionsInDifferentSectionsAtOffsetZeroGetTheirOwnLines) {
  elf::ObjectFile obj = compile_source();
  ObjectDebugInfo info = must_load(obj);
  auto a = info.line_at(must_find_section(obj, ".text.first"), 0);
  auto b = info.line_at(must_find_section(obj, ".text.second"), 0);
  EXPECT_EQ(a, line_of(kSource, "FIRST_BRACE"));
  EXPECT_EQ(b, line_of(kSource, "SECOND_BRACE"));
  EXPECT_NE(a, b);
}

TEST_P(ObjectInfo, OffsetPastTheEndOfTheSectionHasNoLine) {
  elf::ObjectFile obj = compile_source();
  ObjectDebugInfo info = must_load(obj);
  elf::SectionId sec = must_find_section(obj, ".text.second");
  EXPECT_FALSE(info.line_at(sec, obj.sections[sec].size));
  EXPECT_FALSE(info.line_at(must_find_section(obj, ".debug_info"), 0));
}

TEST_P(ObjectInfo, InlineChainShowsTheCalleeAndItsCallSite) {
  elf::ObjectFile obj = compile_source();
  ObjectDebugInfo info = must_load(obj);
  elf::SectionId sec = must_find_section(obj, ".text.caller");
  u64 off = imul_offset(obj, sec);
  std::vector<InlineFrame> chain = info.inline_chain(sec, off);
  ASSERT_EQ(chain.size(), 1u);
  EXPECT_EQ(chain[0].callee, "helper");
  EXPECT_EQ(chain[0].call_file, "lines.c");
  EXPECT_EQ(chain[0].call_line, line_of(kSource, "CALL_HELPER"));
  // The line table answers with the callee's own line there.
  EXPECT_EQ(info.line_at(sec, off), line_of(kSource, "HELPER_BODY"));
}

// The builder's diff loads only what it needs: inlining trees of the changed functions, no
// line table (the line program is most of the load time of a big unit).
TEST_P(ObjectInfo, InlineOnlyLoadGivesTheSameChainWithoutLines) {
  elf::ObjectFile obj = compile_source();
  LoadOptions lo;
  lo.lines = false;
  auto info = ObjectDebugInfo::load(obj, lo);
  ASSERT_TRUE(info) << info.error().str();
  elf::SectionId sec = must_find_section(obj, ".text.caller");
  u64 off = imul_offset(obj, sec);
  std::vector<InlineFrame> chain = info->inline_chain(sec, off);
  ASSERT_EQ(chain.size(), 1u);
  EXPECT_EQ(chain[0].callee, "helper");
  EXPECT_EQ(chain[0].call_file, "lines.c");
  EXPECT_EQ(chain[0].call_line, line_of(kSource, "CALL_HELPER"));
  EXPECT_FALSE(info->line_at(sec, off)); // not loaded
}

TEST_P(ObjectInfo, InlineSectionsFilterSkipsOtherFunctions) {
  elf::ObjectFile obj = compile_source();
  LoadOptions lo;
  lo.inline_sections = {must_find_section(obj, ".text.outer")};
  auto info = ObjectDebugInfo::load(obj, lo);
  ASSERT_TRUE(info) << info.error().str();
  elf::SectionId outer = must_find_section(obj, ".text.outer"), caller = must_find_section(obj, ".text.caller");
  EXPECT_EQ(info->inline_chain(outer, imul_offset(obj, outer)).size(), 2u);
  EXPECT_TRUE(info->inline_chain(caller, imul_offset(obj, caller)).empty()); // not walked
}

// A function split into a hot and a cold part has no DW_AT_low_pc, only DW_AT_ranges: the
// filter must still find it (the quick low_pc test does not apply to it).
TEST_P(ObjectInfo, InlineSectionsFilterFindsAFunctionSplitIntoHotAndColdParts) {
  static const char *const kSplit = R"(volatile int sink;
extern void oops(int) __attribute__((cold, noreturn));

static inline __attribute__((always_inline)) int helper(int x)
{
	return x * 42 + sink;
}

int split(int y)
{
	if (y < 0)
		oops(y);
	return helper(y) ^ 3; /* CALL_HELPER */
}
)";
  elf::ObjectFile obj = must_read(compile(dir, "split.c", kSplit, flags()));
  ASSERT_TRUE(obj.find_symbol("split.cold")) << "gcc did not split the function: the test proves nothing";
  elf::SectionId sec = must_find_section(obj, ".text.split");
  LoadOptions lo;
  lo.lines = false;
  lo.inline_sections = {sec};
  auto info = ObjectDebugInfo::load(obj, lo);
  ASSERT_TRUE(info) << info.error().str();
  std::vector<InlineFrame> chain = info->inline_chain(sec, imul_offset(obj, sec));
  ASSERT_EQ(chain.size(), 1u);
  EXPECT_EQ(chain[0].callee, "helper");
  EXPECT_EQ(chain[0].call_line, line_of(kSplit, "CALL_HELPER"));
}

TEST_P(ObjectInfo, NestedInlineChainIsInnermostFirst) {
  elf::ObjectFile obj = compile_source();
  ObjectDebugInfo info = must_load(obj);
  elf::SectionId sec = must_find_section(obj, ".text.outer");
  std::vector<InlineFrame> chain = info.inline_chain(sec, imul_offset(obj, sec));
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].callee, "inner");
  EXPECT_EQ(chain[0].call_line, line_of(kSource, "CALL_INNER"));
  EXPECT_EQ(chain[1].callee, "middle");
  EXPECT_EQ(chain[1].call_line, line_of(kSource, "CALL_MIDDLE"));
}

TEST_P(ObjectInfo, CodeOutsideInlinedCallsHasAnEmptyChain) {
  elf::ObjectFile obj = compile_source();
  ObjectDebugInfo info = must_load(obj);
  EXPECT_TRUE(info.inline_chain(must_find_section(obj, ".text.caller"), 0).empty());
  EXPECT_TRUE(info.inline_chain(must_find_section(obj, ".text.second"), 0).empty());
}

// An inline defined in a header and inlined there: the call site is in the header, named
// relative to the compilation directory as the kernel's "include/linux/..." would be.
TEST_P(ObjectInfo, CallFileInAHeaderIsRelativeToTheCompDir) {
  const std::string header = "static inline __attribute__((always_inline)) int leaf(int x) { return x * 42 + sink; }\n"
                             "static inline __attribute__((always_inline)) int wrap(int x)\n"
                             "{\n"
                             "\treturn leaf(x) + 9; /* CALL_LEAF */\n"
                             "}\n";
  std::filesystem::create_directories(dir.file("include/linux"));
  write_text(dir.file("include/linux/wrap.h"), header);
  std::string src = "volatile int sink;\n#include \"linux/wrap.h\"\nint user(int q) { return wrap(q); }\n";
  elf::ObjectFile obj = must_read(compile(dir, "user.c", src, flags("-Iinclude")));
  ObjectDebugInfo info = must_load(obj);
  elf::SectionId sec = must_find_section(obj, ".text.user");
  std::vector<InlineFrame> chain = info.inline_chain(sec, imul_offset(obj, sec));
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].callee, "leaf");
  EXPECT_EQ(chain[0].call_file, "include/linux/wrap.h");
  EXPECT_EQ(chain[0].call_line, line_of(header, "CALL_LEAF"));
  EXPECT_EQ(chain[1].callee, "wrap");
  EXPECT_EQ(chain[1].call_file, "user.c");
  EXPECT_EQ(chain[1].call_line, 3u);
}

// CONFIG_DEBUG_INFO_COMPRESSED builds objects with -gz=zlib: SHF_COMPRESSED debug sections
// whose relocations apply to the uncompressed bytes. lib/elf's reader inflates them.
TEST_P(ObjectInfo, ObjectCompiledWithGzIsRead) {
  elf::ObjectFile obj = compile_source("-gz=zlib");
  ObjectDebugInfo info = must_load(obj);
  elf::SectionId sec = must_find_section(obj, ".text.second");
  EXPECT_EQ(info.line_at(sec, imul_offset(obj, sec)), line_of(kSource, "SECOND_RETURN"));
}

// A model built in memory may still carry SHF_COMPRESSED sections (the reader's inflation is
// not the only way to get an ObjectFile); ObjectDebugInfo inflates them itself.
TEST_P(ObjectInfo, CompressedSectionsInTheModelAreInflated) {
  elf::ObjectFile obj = compile_source();
  for (elf::Section &s : obj.sections)
    if (s.name.starts_with(".debug_"))
      compress_section(s);
  ObjectDebugInfo info = must_load(obj);
  elf::SectionId sec = must_find_section(obj, ".text.second");
  EXPECT_EQ(info.line_at(sec, imul_offset(obj, sec)), line_of(kSource, "SECOND_RETURN"));
  sec = must_find_section(obj, ".text.caller");
  std::vector<InlineFrame> chain = info.inline_chain(sec, imul_offset(obj, sec));
  ASSERT_EQ(chain.size(), 1u);
  EXPECT_EQ(chain[0].callee, "helper");
}

TEST_P(ObjectInfo, ObjectWithoutDebugInfoHasNoInfo) {
  elf::ObjectFile obj = must_read(compile(dir, "nodebug.c", kSource, flags("-g0")));
  auto info = ObjectDebugInfo::load(obj);
  ASSERT_TRUE(info) << info.error().str();
  EXPECT_FALSE(info->has_info());
  EXPECT_FALSE(info->line_at(must_find_section(obj, ".text.second"), 0));
  EXPECT_TRUE(info->inline_chain(must_find_section(obj, ".text.caller"), 0).empty());
}

INSTANTIATE_TEST_SUITE_P(Dwarf, ObjectInfo, ::testing::Values(4, 5), dwarf_version_name);

class ObjectInfoMalformed : public ::testing::TestWithParam<int> {
protected:
  TempDir dir;
  elf::ObjectFile obj;
  elf::Section *debug_info = nullptr;
  void SetUp() override {
    obj = must_read(compile(dir, "lines.c", kSource, std::string(kKernelCflags) + " " + dwarf_flag(GetParam())));
    debug_info = &obj.sections[must_find_section(obj, ".debug_info")];
  }
  void expect_error_names_debug_info() {
    auto info = ObjectDebugInfo::load(obj);
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().loc.file, obj.path);
    EXPECT_NE(info.error().loc.section.find(".debug_"), std::string::npos) << info.error().str();
  }
};

TEST_P(ObjectInfoMalformed, TruncatedDebugInfoIsAnError) {
  u64 keep = debug_info->data.size() / 2;
  debug_info->data.resize(keep);
  debug_info->size = keep;
  std::erase_if(debug_info->relocs, [&](const elf::Reloc &r) { return r.offset + 8 > keep; });
  expect_error_names_debug_info();
}

TEST_P(ObjectInfoMalformed, GarbledUnitVersionIsAnError) {
  ASSERT_GE(debug_info->data.size(), 6u);
  debug_info->data[4] = 0x42; // unit version (after the 4-byte unit_length)
  debug_info->data[5] = 0x00;
  expect_error_names_debug_info();
}

TEST_P(ObjectInfoMalformed, GarbledAbbreviationCodesAreAnError) {
  // Past the unit header (11 bytes in DWARF 4, 12 in DWARF 5): overwrite the DIEs with an
  // abbreviation code that the unit's table does not define.
  for (size_t i = 12; i < debug_info->data.size(); ++i)
    debug_info->data[i] = 0x7f;
  debug_info->relocs.clear();
  expect_error_names_debug_info();
}

TEST_P(ObjectInfoMalformed, RelocationOutsideTheSectionIsAnError) {
  ASSERT_FALSE(debug_info->relocs.empty());
  debug_info->relocs.back().offset = debug_info->data.size() - 2;
  expect_error_names_debug_info();
}

INSTANTIATE_TEST_SUITE_P(Dwarf, ObjectInfoMalformed, ::testing::Values(4, 5), dwarf_version_name);

} // namespace
} // namespace kpg::dwarf::test
