// SPDX-License-Identifier: GPL-2.0-only
// Writing: deterministic bytes, and write_object() is atomic (temporary file + rename).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "elf/writer.h"
#include "elf_builder.h"
#include "test_support.h"

namespace kpg::elf::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> files_in(const std::string &dir) {
  std::vector<std::string> names;
  for (const auto &e : fs::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(elf_write, IsDeterministic) {
  TempDir dir;
  ObjectFile obj = must_read(compile_c(dir, "k", kKernelStyleC, "-g"));
  std::vector<u8> a = must_write(obj), b = must_write(obj);
  EXPECT_TRUE(a == b);
  // A copy of the model (different allocations, hash-table states) writes the same bytes too.
  ObjectFile copy = obj;
  EXPECT_TRUE(must_write(copy) == a);
}

TEST(elf_write, RewritingTheOutputIsAFixedPoint) {
  // write(read(write(m))) == write(m): the written file is already in the writer's canonical
  // layout, so a second pass changes nothing.
  std::vector<u8> once = must_write(must_read("mini.o", MiniObject().build()));
  std::vector<u8> twice = must_write(must_read("once.o", once));
  EXPECT_TRUE(once == twice);
}

TEST(elf_write, IntoMissingDirectoryFailsAndLeavesNothing) {
  TempDir dir;
  ObjectFile obj = must_read("mini.o", MiniObject().build());
  std::string target = dir.file("no/such/dir/out.o");
  auto w = write_object(obj, target);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().str().find("no/such/dir/out.o"), std::string::npos) << w.error().str();
  EXPECT_TRUE(files_in(dir.path()).empty());
}

TEST(elf_write, SuccessfulWriteLeavesNoTemporaryFiles) {
  TempDir dir;
  ObjectFile obj = must_read("mini.o", MiniObject().build());
  ASSERT_TRUE(write_object(obj, dir.file("out.o")));
  // Overwriting an existing file goes through the same rename.
  ASSERT_TRUE(write_object(obj, dir.file("out.o")));
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"out.o"});
  EXPECT_TRUE(must_read(dir.file("out.o")).same_content(obj));
}

TEST(elf_write, FailedWriteKeepsTheOldFile) {
  // A model verify() rejects must not clobber what is already there.
  TempDir dir;
  ObjectFile obj = must_read("mini.o", MiniObject().build());
  ASSERT_TRUE(write_object(obj, dir.file("out.o")));
  std::vector<u8> before = read_bytes(dir.file("out.o"));
  obj.sections[*obj.find_section(".text")].relocs[0].sym = SymbolId{1000};
  EXPECT_FALSE(write_object(obj, dir.file("out.o")));
  EXPECT_TRUE(read_bytes(dir.file("out.o")) == before);
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"out.o"});
}

TEST(elf_write, HugeAlignmentDoesNotInflateTheFile) {
  // Found by the fuzzer: libelf pads file offsets to the full sh_addralign, so 2^40 made a
  // terabyte file. The writer lays out offsets itself; the alignment is still recorded.
  ObjectFile obj = must_read("mini.o", MiniObject().build());
  obj.sections[*obj.find_section(".data")].addralign = u64{1} << 40;
  std::vector<u8> image = must_write(obj);
  EXPECT_LT(image.size(), 16384u);
  ShdrView v = view_sections(image);
  EXPECT_EQ(v.shdrs[*v.find(".data")].sh_addralign, u64{1} << 40);
  EXPECT_TRUE(must_read("out.o", image).same_content(obj));
}

} // namespace
} // namespace kpg::elf::test
