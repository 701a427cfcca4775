// SPDX-License-Identifier: GPL-2.0-only
// Partial reads (ReadOptions): the diff reads code without DWARF, then only the DWARF sections
// (read_debug_sections), and relies on both giving the same section ids.
#include <gtest/gtest.h>

#include <memory>

#include "elf/reader.h"
#include "test_support.h"

namespace kpg::elf::test {
namespace {

class elf_read_options : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    path_ = compile_c(*dir_, "in", kKernelStyleC, "-g");
    full_ = std::make_unique<ObjectFile>(must_read(path_));
  }
  static void TearDownTestSuite() {
    full_.reset();
    dir_.reset();
  }
  static ObjectFile read_with(const ReadOptions &ro) {
    auto o = read_object(path_, ro);
    if (!o)
      throw std::runtime_error(o.error().str());
    return std::move(*o);
  }
  static bool is_debug(const Section &s) { return s.name.starts_with(".debug_"); }
  // `path` read as the diff first reads it: every section but the .debug_* contents.
  static ObjectFile read_without_debug(const std::string &path) {
    ReadOptions ro;
    ro.debug_contents = false;
    auto o = read_object(path, ro);
    if (!o)
      throw std::runtime_error(o.error().str());
    return std::move(*o);
  }

  // Same sections (names, types, sizes) and symbols, in the same order, as the full read.
  static void expect_same_skeleton(const ObjectFile &o) {
    ASSERT_EQ(o.sections.size(), full_->sections.size());
    for (SectionId id : o.sections.ids()) {
      EXPECT_EQ(o.sections[id].name, full_->sections[id].name);
      EXPECT_EQ(o.sections[id].type, full_->sections[id].type);
      EXPECT_EQ(o.sections[id].size, full_->sections[id].size) << o.sections[id].name;
    }
    EXPECT_EQ(o.symbols, full_->symbols);
  }

  // Sections for which `skipped` holds have neither contents nor relocations; every other
  // section has the contents and relocations of the full read.
  static void expect_contents_skipped_exactly(const ObjectFile &o, bool (*skipped)(const Section &)) {
    expect_same_skeleton(o);
    for (SectionId id : o.sections.ids()) {
      const Section &s = o.sections[id], &f = full_->sections[id];
      if (skipped(s)) {
        EXPECT_TRUE(s.data.empty()) << s.name;
        EXPECT_TRUE(s.relocs.empty()) << s.name;
      } else {
        EXPECT_EQ(s.data, f.data) << s.name;
        EXPECT_EQ(s.relocs, f.relocs) << s.name;
      }
    }
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::string path_;
  static inline std::unique_ptr<ObjectFile> full_;
};

TEST_F(elf_read_options, the_test_object_has_code_and_debug_sections_with_relocations) {
  bool code = false, debug = false;
  for (const Section &s : full_->sections) {
    code |= s.is_exec() && !s.data.empty() && !s.relocs.empty();
    debug |= is_debug(s) && !s.data.empty() && !s.relocs.empty();
  }
  EXPECT_TRUE(code);
  EXPECT_TRUE(debug);
}

TEST_F(elf_read_options, without_debug_contents_only_debug_sections_are_empty) {
  ReadOptions ro;
  ro.debug_contents = false;
  expect_contents_skipped_exactly(read_with(ro), is_debug);
}

TEST_F(elf_read_options, debug_sections_read_later_are_those_of_the_full_read) {
  auto d = read_debug_sections(read_without_debug(path_));
  ASSERT_TRUE(d) << d.error().str();
  size_t debug = 0;
  for (const Section &s : full_->sections)
    debug += is_debug(s);
  EXPECT_EQ(d->size(), debug);
  for (const auto &[id, sec] : *d) {
    EXPECT_TRUE(is_debug(sec)) << sec.name;
    EXPECT_EQ(sec, full_->sections[id]) << sec.name;
  }
}

TEST_F(elf_read_options, debug_sections_swapped_in_make_the_full_model) {
  ObjectFile o = read_without_debug(path_);
  auto d = read_debug_sections(o);
  ASSERT_TRUE(d) << d.error().str();
  for (auto &[id, sec] : *d)
    std::swap(o.sections[id], sec);
  EXPECT_TRUE(o.same_content(*full_));
}

TEST_F(elf_read_options, compressed_debug_sections_read_later_are_inflated_as_in_a_full_read) {
  // gcc -gz (CONFIG_DEBUG_INFO_COMPRESSED): the model has the inflated sizes, the file not.
  std::string path = compile_c(*dir_, "gz", kKernelStyleC, "-g -gz=zlib");
  ObjectFile full = must_read(path);
  auto d = read_debug_sections(read_without_debug(path));
  ASSERT_TRUE(d) << d.error().str();
  ASSERT_FALSE(d->empty());
  for (const auto &[id, sec] : *d)
    EXPECT_EQ(sec, full.sections[id]) << sec.name;
}

TEST_F(elf_read_options, debug_sections_of_a_file_that_changed_since_are_an_error) {
  ObjectFile o = read_without_debug(path_);
  // Another unit at the model's path: its sections are not the model's.
  o.path = compile_c(*dir_, "other", "int other(int x) { return x * 3; }\n", "-g");
  auto d = read_debug_sections(o);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().str().find("changed since it was first read"), std::string::npos) << d.error().str();
}

TEST_F(elf_read_options, without_relocations_contents_stay) {
  ReadOptions ro;
  ro.relocations = false;
  ObjectFile o = read_with(ro);
  expect_same_skeleton(o);
  for (SectionId id : o.sections.ids()) {
    EXPECT_TRUE(o.sections[id].relocs.empty()) << o.sections[id].name;
    EXPECT_EQ(o.sections[id].data, full_->sections[id].data) << o.sections[id].name;
  }
}

} // namespace
} // namespace kpg::elf::test
