// SPDX-License-Identifier: GPL-2.0-only
// The cache of compiled original units (builder/original_cache.h): its key, the files a .cmd
// names, and that an entry is used only while every one of them is unchanged. A fake source
// and object tree stand for the prepared tree; the "object" is a few bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "builder/original_cache.h"
#include "support/file.h"
#include "common/temp_dir.h"

namespace fs = std::filesystem;
using namespace kpg;
using namespace kpg::build;

namespace {

OriginalKeyInputs base_inputs() {
  OriginalKeyInputs in;
  in.tree_key = "0123456789abcdef";
  in.make_vars = {"KCFLAGS=-ffunction-sections -fdata-sections -I/cache/prep/K/include", "KERNELRELEASE=6.1.192"};
  in.toolchain = "gcc (Debian 12.2.0-14) 12.2.0\nGNU assembler (GNU Binutils for Debian) 2.40";
  in.object = "fs/proc/meminfo.o";
  in.kbuild_files = {{"Makefile", "aa"}, {"fs/proc/Makefile", "bb"}};
  return in;
}

TEST(OriginalKey, SameInputsGiveTheSameKey) { EXPECT_EQ(original_key(base_inputs()), original_key(base_inputs())); }

TEST(OriginalKey, EveryInputChangesTheKey) {
  const std::string k = original_key(base_inputs());
  std::vector<void (*)(OriginalKeyInputs &)> changes = {
      [](OriginalKeyInputs &i) { i.tree_key = "fedcba9876543210"; },
      [](OriginalKeyInputs &i) { i.make_vars[1] = "KERNELRELEASE=6.1.193"; },
      [](OriginalKeyInputs &i) { i.make_vars.push_back("CC=gcc-12"); },
      [](OriginalKeyInputs &i) { i.toolchain = "gcc (Debian 12.2.0-14) 12.2.0\nGNU assembler 2.41"; },
      [](OriginalKeyInputs &i) { i.object = "fs/proc/cmdline.o"; },
      [](OriginalKeyInputs &i) { i.kbuild_files[1].second = "cc"; },
      [](OriginalKeyInputs &i) { i.kbuild_files.pop_back(); },
  };
  for (size_t n = 0; n < changes.size(); n++) {
    OriginalKeyInputs in = base_inputs();
    changes[n](in);
    EXPECT_NE(original_key(in), k) << "change " << n;
  }
}

TEST(OriginalKey, FieldsDoNotRunIntoEachOther) {
  // "a b" + "c" must not be the same text as "a" + "b c".
  OriginalKeyInputs x = base_inputs(), y = base_inputs();
  x.make_vars = {"KCFLAGS=-O2 KERNELRELEASE=1", "X"};
  y.make_vars = {"KCFLAGS=-O2", "KERNELRELEASE=1 X"};
  EXPECT_NE(original_key(x), original_key(y));
}

TEST(KbuildFiles, EveryDirectoryDownToTheUnitsIsIncluded) {
  auto f = kbuild_files_of("fs/proc/meminfo.o");
  for (const char *want : {"Makefile", "arch/x86/Makefile", "scripts/Kbuild.include", "fs/Makefile", "fs/Kbuild",
                           "fs/proc/Makefile", "fs/proc/Kbuild"})
    EXPECT_NE(std::find(f.begin(), f.end(), want), f.end()) << want;
}

// A .cmd file as kbuild 6.1 writes it (shortened).
std::string cmd_text(const std::string &src) {
  return "cmd_fs/proc/meminfo.o := gcc -Wp,-MMD,fs/proc/.meminfo.o.d -nostdinc -I" + src +
         "/include -I./include -c -o fs/proc/meminfo.o " + src +
         "/fs/proc/meminfo.c   ; ./tools/objtool/objtool --orc fs/proc/meminfo.o\n\n"
         "source_fs/proc/meminfo.o := " +
         src +
         "/fs/proc/meminfo.c\n\n"
         "deps_fs/proc/meminfo.o := \\\n"
         "    $(wildcard include/config/PROC_FS) \\\n"
         "  " +
         src +
         "/include/linux/seq_file.h \\\n"
         "  include/generated/autoconf.h \\\n\n"
         "fs/proc/meminfo.o: $(deps_fs/proc/meminfo.o)\n\n"
         "$(deps_fs/proc/meminfo.o):\n\n"
         "fs/proc/meminfo.o: $(wildcard ./tools/objtool/objtool)\n"
         "#SYMVER meminfo_show 0x12345678\n";
}

TEST(CmdPrerequisites, SourceHeadersGeneratedFilesAndObjtool) {
  auto p = cmd_prerequisites(cmd_text("/src"), "/obj");
  std::vector<std::string> want = {"/obj/include/config/PROC_FS", "/obj/include/generated/autoconf.h",
                                   "/obj/tools/objtool/objtool", "/src/fs/proc/meminfo.c",
                                   "/src/include/linux/seq_file.h"};
  EXPECT_EQ(p, want);
}

// A source tree, an object tree with one compiled unit, and the cache directory.
class FakeTrees : public ::testing::Test {
protected:
  void SetUp() override {
    src = dir.file("src");
    obj = dir.file("obj");
    for (const char *d : {"src/fs/proc", "src/include/linux", "src/scripts", "obj/fs/proc", "obj/include/generated",
                          "obj/tools/objtool"})
      fs::create_directories(dir.file(d));
    put(src + "/Makefile", "obj-y += fs/\n");
    put(src + "/scripts/Makefile.build", "# build\n");
    put(src + "/fs/proc/Makefile", "obj-y += meminfo.o\n");
    put(src + "/fs/proc/meminfo.c", "int x;\n");
    put(src + "/include/linux/seq_file.h", "struct seq_file;\n");
    put(obj + "/include/generated/autoconf.h", "#define CONFIG_PROC_FS 1\n");
    put(obj + "/tools/objtool/objtool", "objtool v1");
    compiled("OBJECT v1");
  }
  static void put(const std::string &path, const std::string &text) { ASSERT_TRUE(write_text_file_atomic(path, text)); }
  void compiled(const std::string &bytes) {
    put(obj + "/fs/proc/meminfo.o", bytes);
    put(obj + "/fs/proc/.meminfo.o.cmd", cmd_text(src));
  }
  OriginalCache cache(u64 limit = OriginalCache::kDefaultLimit) {
    return OriginalCache(dir.file("originals"), base_inputs(), src, obj, limit);
  }
  static std::string text_of(const std::string &path) {
    auto t = read_text_file(path);
    return t ? *t : "";
  }
  std::string object_bytes() { return text_of(obj + "/fs/proc/meminfo.o"); }

  test::TempDir dir{"kpg-original-cache"};
  std::string src, obj;
  const std::string unit = "fs/proc/meminfo.o";
};

TEST_F(FakeTrees, StoredOriginalIsRestored) {
  OriginalCache c = cache();
  std::string key = c.key(unit);
  ASSERT_TRUE(c.store(key, unit));
  fs::remove(obj + "/fs/proc/meminfo.o");
  fs::remove(obj + "/fs/proc/.meminfo.o.cmd");
  auto r = c.restore(key, unit);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_TRUE(r->hit) << r->why_not;
  EXPECT_EQ(object_bytes(), "OBJECT v1");
  EXPECT_EQ(text_of(obj + "/fs/proc/.meminfo.o.cmd"), cmd_text(src));
}

TEST_F(FakeTrees, NothingStoredIsAMiss) {
  auto r = cache().restore(cache().key(unit), unit);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->hit);
  EXPECT_EQ(r->why_not, "not in the cache");
}

TEST_F(FakeTrees, ChangedHeaderIsAMiss) {
  OriginalCache c = cache();
  std::string key = c.key(unit);
  ASSERT_TRUE(c.store(key, unit));
  put(src + "/include/linux/seq_file.h", "struct seq_file; /* changed */\n");
  compiled("OBJECT v2"); // what kbuild would make of it
  auto r = c.restore(key, unit);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->hit);
  EXPECT_EQ(r->why_not, "include/linux/seq_file.h changed since it was cached");
  EXPECT_EQ(object_bytes(), "OBJECT v2"); // a miss leaves the tree alone
}

TEST_F(FakeTrees, ChangedSourceIsAMiss) {
  OriginalCache c = cache();
  std::string key = c.key(unit);
  ASSERT_TRUE(c.store(key, unit));
  put(src + "/fs/proc/meminfo.c", "int y;\n");
  auto r = c.restore(key, unit);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->hit);
}

TEST_F(FakeTrees, ChangedGeneratedHeaderIsAMiss) {
  OriginalCache c = cache();
  std::string key = c.key(unit);
  ASSERT_TRUE(c.store(key, unit));
  put(obj + "/include/generated/autoconf.h", "#define CONFIG_PROC_FS 1\n#define CONFIG_X 1\n");
  auto r = c.restore(key, unit);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->hit);
  EXPECT_EQ(r->why_not, "include/generated/autoconf.h changed since it was cached");
}

TEST_F(FakeTrees, ChangedObjtoolIsAMiss) {
  OriginalCache c = cache();
  std::string key = c.key(unit);
  ASSERT_TRUE(c.store(key, unit));
  put(obj + "/tools/objtool/objtool", "objtool v2");
  auto r = c.restore(key, unit);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->hit);
}

TEST_F(FakeTrees, ChangedMakefileChangesTheKey) {
  OriginalCache c = cache();
  std::string before = c.key(unit);
  put(src + "/fs/proc/Makefile", "obj-y += meminfo.o\nCFLAGS_meminfo.o += -DX\n");
  EXPECT_NE(c.key(unit), before);
  std::string k2 = c.key(unit);
  put(src + "/scripts/Makefile.build", "# build, changed\n");
  EXPECT_NE(OriginalCache(dir.file("originals"), base_inputs(), src, obj).key(unit), k2);
}

TEST_F(FakeTrees, NewKbuildFileInTheUnitsDirectoryChangesTheKey) {
  std::string before = cache().key(unit);
  put(src + "/fs/proc/Kbuild", "obj-y += meminfo.o\n"); // kbuild reads Kbuild before Makefile
  EXPECT_NE(cache().key(unit), before);
}

TEST_F(FakeTrees, DamagedObjectInTheCacheIsAMiss) {
  OriginalCache c = cache();
  std::string key = c.key(unit);
  ASSERT_TRUE(c.store(key, unit));
  put(dir.file("originals/" + key + ".o"), "OBJECT v1 but damaged");
  compiled("OBJECT v1");
  auto r = c.restore(key, unit);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->hit);
  EXPECT_EQ(object_bytes(), "OBJECT v1");
}

TEST_F(FakeTrees, IdenticalObjectInTheTreeIsNotRewritten) {
  OriginalCache c = cache();
  std::string key = c.key(unit);
  ASSERT_TRUE(c.store(key, unit));
  auto before = fs::last_write_time(obj + "/fs/proc/meminfo.o");
  auto r = c.restore(key, unit);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->hit);
  EXPECT_EQ(fs::last_write_time(obj + "/fs/proc/meminfo.o"), before); // kbuild's mtime check unchanged
}

TEST_F(FakeTrees, LeastRecentlyUsedEntriesGoBeyondTheLimit) {
  // Each entry is ~1.3 KB: a 3 KB limit keeps two.
  OriginalCache c = cache(3000);
  std::vector<std::string> keys;
  for (const char *o : {"fs/proc/a.o", "fs/proc/b.o", "fs/proc/c.o"}) {
    fs::copy_file(obj + "/fs/proc/meminfo.o", obj + "/" + o);
    fs::copy_file(obj + "/fs/proc/.meminfo.o.cmd",
                  obj + "/fs/proc/." + fs::path(o).filename().string() + ".cmd");
    keys.push_back(c.key(o));
    ASSERT_TRUE(c.store(keys.back(), o));
    // Used in this order, whatever the file system's time granularity.
    fs::last_write_time(dir.file("originals/" + keys.back() + ".entry"),
                        fs::file_time_type::clock::now() - std::chrono::seconds(10 - keys.size()));
  }
  EXPECT_FALSE(fs::exists(dir.file("originals/" + keys[0] + ".entry")));
  EXPECT_FALSE(fs::exists(dir.file("originals/" + keys[0] + ".o")));
  EXPECT_TRUE(fs::exists(dir.file("originals/" + keys[2] + ".entry")));
}

} // namespace
