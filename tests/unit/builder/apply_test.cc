// SPDX-License-Identifier: GPL-2.0-only
// Patches apply exactly (apply_patch): hunks parsed from the patch, GNU patch run on a small
// tree made in the test, offsets accepted only where a hunk's lines are unique, fuzz only when
// asked for, and every hunk that moved reported.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "builder/patchfile.h"
#include "common/temp_dir.h"

using namespace kpg;
using namespace kpg::build;

namespace {

struct Apply : ::testing::Test {
  test::TempDir tmp{"kpg-apply"};
  std::string tree = tmp.file("tree");

  void SetUp() override { std::filesystem::create_directories(tree); }
  void write(const std::string &path, const std::string &text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
  }
  std::string read(const std::string &path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  // "line 1\n" ... "line n\n", with `extra` lines inserted before line `at`.
  static std::string lines(int n, int at = 0, const std::string &extra = "") {
    std::string s;
    for (int i = 1; i <= n; i++) {
      if (i == at)
        s += extra;
      s += "line " + std::to_string(i) + "\n";
    }
    return s;
  }
  PatchInfo patch(const std::string &text) {
    std::string p = tmp.file("x.patch");
    write(p, text);
    auto info = parse_patch(p);
    EXPECT_TRUE(info) << info.error().str();
    return info ? *info : PatchInfo{};
  }
  Expected<std::vector<HunkPlacement>> apply(const PatchInfo &p, u32 fuzz = 0) {
    return apply_patch(tree, p, fuzz, tmp.file("patch.log"));
  }
};

// Changes "line 8" of f.c, with three lines of context on each side.
const char *kLine8 = "--- a/f.c\n+++ b/f.c\n@@ -5,7 +5,7 @@ int f(void)\n"
                     " line 5\n line 6\n line 7\n-line 8\n+LINE 8\n line 9\n line 10\n line 11\n";

TEST(PatchHunks, HeaderCountsAndMatchedLinesAreParsed) {
  test::TempDir tmp("kpg-hunks");
  std::ofstream(tmp.file("p.patch")) << kLine8;
  auto p = parse_patch(tmp.file("p.patch"));
  ASSERT_TRUE(p) << p.error().str();
  ASSERT_EQ(p->files.size(), 1u);
  ASSERT_EQ(p->files[0].hunks.size(), 1u);
  const Hunk &h = p->files[0].hunks[0];
  EXPECT_EQ(h.header, "@@ -5,7 +5,7 @@ int f(void)");
  EXPECT_EQ(h.old_start, 5u);
  EXPECT_EQ(h.old_count, 7u);
  EXPECT_EQ(h.new_count, 7u);
  EXPECT_EQ(h.old_lines.size(), 7u);
  EXPECT_EQ(h.old_lines[3], "line 8");
  EXPECT_EQ(h.leading_context, 3u);
  EXPECT_EQ(h.trailing_context, 3u);
}

TEST(PatchHunks, RemovedLineThatLooksLikeAFileHeaderStaysInTheHunk) {
  // Removing the line "-- x" gives the body line "--- x", which is not a new file's header.
  test::TempDir tmp("kpg-hunks");
  std::ofstream(tmp.file("p.patch")) << "--- a/f.c\n+++ b/f.c\n@@ -1,2 +1,1 @@\n a\n--- x\n"
                                        "--- a/g.c\n+++ b/g.c\n@@ -1 +1 @@\n-b\n+c\n";
  auto p = parse_patch(tmp.file("p.patch"));
  ASSERT_TRUE(p) << p.error().str();
  ASSERT_EQ(p->files.size(), 2u);
  EXPECT_EQ(p->files[0].hunks[0].old_lines, (std::vector<std::string>{"a", "-- x"}));
  EXPECT_EQ(p->files[1].path, "g.c");
}

TEST(PatchHunks, TruncatedHunkIsAnError) {
  test::TempDir tmp("kpg-hunks");
  std::ofstream(tmp.file("p.patch")) << "--- a/f.c\n+++ b/f.c\n@@ -1,3 +1,3 @@\n a\n-b\n";
  auto p = parse_patch(tmp.file("p.patch"));
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("ends inside a hunk"), std::string::npos);
}

TEST_F(Apply, ExactHunkAppliesAndIsNotReported) {
  write(tree + "/f.c", lines(40));
  auto r = apply(patch(kLine8));
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_TRUE(r->empty());
  std::string want = lines(40);
  want.replace(want.find("line 8\n"), 6, "LINE 8");
  EXPECT_EQ(read(tree + "/f.c"), want);
}

TEST_F(Apply, UniqueHunkAtAnOffsetAppliesAndIsReported) {
  write(tree + "/f.c", lines(40, 1, "new 1\nnew 2\nnew 3\n"));
  auto r = apply(patch(kLine8));
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_EQ(r->size(), 1u);
  const HunkPlacement &h = r->front();
  EXPECT_EQ(h.file, "f.c");
  EXPECT_EQ(h.hunk, 1u);
  EXPECT_EQ(h.header, "@@ -5,7 +5,7 @@ int f(void)");
  EXPECT_EQ(h.offset, 3);
  EXPECT_EQ(h.line, 8u);
  EXPECT_EQ(h.fuzz, 0u);
  EXPECT_NE(read(tree + "/f.c").find("LINE 8"), std::string::npos);
}

TEST_F(Apply, HunkAtAnOffsetWhoseLinesMatchTwicePlacesIsAnErrorAndChangesNothing) {
  // Lines 5-11 occur twice; neither copy is where the header says (line 5 is elsewhere now).
  std::string text = "a\nb\nc\nd\nx\n" + lines(11).substr(lines(4).size()) + "gap\n" + lines(11).substr(lines(4).size());
  write(tree + "/f.c", text);
  auto r = apply(patch(kLine8));
  ASSERT_FALSE(r);
  const std::string &m = r.error().message;
  EXPECT_NE(m.find("f.c: hunk #1 (@@ -5,7 +5,7 @@ int f(void))"), std::string::npos) << m;
  EXPECT_NE(m.find("match 2 places"), std::string::npos) << m;
  EXPECT_NE(r.error().loc.file.find("x.patch"), std::string::npos);
  EXPECT_EQ(read(tree + "/f.c"), text);
}

TEST_F(Apply, HunkAtItsOwnLineAppliesEvenWhenItsLinesOccurElsewhere) {
  // The header's line decides: patch(1) tries it first, and it is what the author meant.
  std::string text = lines(20) + lines(20).substr(lines(4).size());
  write(tree + "/f.c", text);
  auto r = apply(patch(kLine8));
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_TRUE(r->empty());
}

TEST_F(Apply, HunkThatNeedsFuzzIsRefusedByDefaultWithTheFuzzItWouldNeed) {
  std::string text = lines(40);
  text.replace(text.find("line 5\n"), 7, "LINE five\n");
  write(tree + "/f.c", text);
  auto r = apply(patch(kLine8));
  ASSERT_FALSE(r);
  const std::string &m = r.error().message;
  EXPECT_NE(m.find("f.c: hunk #1 (@@ -5,7 +5,7 @@ int f(void)) does not apply at line 5 exactly"), std::string::npos) << m;
  EXPECT_NE(m.find("it applies with --fuzz 1"), std::string::npos) << m;
  EXPECT_EQ(read(tree + "/f.c"), text);
}

TEST_F(Apply, FuzzAllowedAppliesAndIsReported) {
  std::string text = lines(40);
  text.replace(text.find("line 5\n"), 7, "LINE five\n");
  write(tree + "/f.c", text);
  auto r = apply(patch(kLine8), 1);
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().fuzz, 1u);
  EXPECT_EQ(r->front().offset, 0);
  EXPECT_NE(read(tree + "/f.c").find("LINE 8"), std::string::npos);
}

TEST_F(Apply, FailingHunkIsNamedWithItsFileAndNumber) {
  write(tree + "/f.c", lines(40));
  write(tree + "/g.c", "nothing alike\n");
  auto r = apply(patch(std::string(kLine8) + "--- a/g.c\n+++ b/g.c\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"));
  ASSERT_FALSE(r);
  const std::string &m = r.error().message;
  EXPECT_NE(m.find("g.c: hunk #1 (@@ -1,3 +1,3 @@) does not apply"), std::string::npos) << m;
  EXPECT_EQ(m.find("f.c: hunk"), std::string::npos) << m; // f.c's hunk was fine
  EXPECT_EQ(read(tree + "/f.c"), lines(40));            // and nothing was applied
}

TEST_F(Apply, SecondFileSectionOfTheSameFileIsMatchedToItsOwnHunks) {
  write(tree + "/f.c", lines(60, 1, "new 1\n"));
  std::string two = std::string(kLine8) +
                    "--- a/f.c\n+++ b/f.c\n@@ -30,3 +30,3 @@\n line 30\n-line 31\n+LINE 31\n line 32\n";
  auto r = apply(patch(two));
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].header, "@@ -30,3 +30,3 @@");
  EXPECT_EQ((*r)[1].offset, 1);
}

} // namespace
