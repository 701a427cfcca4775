// SPDX-License-Identifier: GPL-2.0-only
// Affected units from kbuild dependency lists (a fake full build made of .cmd files).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "builder/kbuild.h"

namespace fs = std::filesystem;
using namespace kpg;
using namespace kpg::build;

namespace {

class FakeBuild : public ::testing::Test {
protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("kpg-kbuild-test-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "build/fs/proc");
    fs::create_directories(root / "build/kernel/sched");
    fs::create_directories(root / "src");
    fs::create_symlink(root / "src", root / "build/source");
    std::ofstream(root / "build/Module.symvers") << "";
    cmd("fs/proc/cmdline.o", {"fs/proc/cmdline.c", "include/linux/proc_fs.h", "include/linux/seq_file.h"});
    cmd("fs/proc/meminfo.o", {"fs/proc/meminfo.c", "include/linux/seq_file.h"});
    cmd("kernel/sched/build_policy.o", {"kernel/sched/build_policy.c", "kernel/sched/rt.c"});
  }
  void TearDown() override { fs::remove_all(root); }
  void cmd(const std::string &obj, const std::vector<std::string> &deps) {
    fs::path o = root / "build" / obj;
    std::ofstream f(o.parent_path() / ("." + o.filename().string() + ".cmd"));
    f << "cmd_" << obj << " := gcc -c -o " << obj << "\n\n";
    f << "source_" << obj << " := " << (root / "src" / deps[0]).string() << "\n\n";
    f << "deps_" << obj << " := \\\n";
    for (const std::string &d : deps)
      f << "  " << (root / "src" / d).string() << " \\\n";
    f << "    $(wildcard include/config/FOO) \\\n  include/generated/autoconf.h \\\n\n";
    f << obj << ": $(deps_" << obj << ")\n";
  }
  fs::path root;
};

TEST_F(FakeBuild, ChangedSourceIsOneUnit) {
  auto deps = BuildDeps::load((root / "build").string());
  ASSERT_TRUE(deps) << deps.error().str();
  EXPECT_EQ(deps->object_count(), 3u);
  auto u = affected_units({{"fs/proc/cmdline.c", false, false, {}}}, &*deps);
  ASSERT_TRUE(u) << u.error().str();
  ASSERT_EQ(u->size(), 1u);
  EXPECT_EQ((*u)[0].object, "fs/proc/cmdline.o");
  EXPECT_EQ((*u)[0].why, "changed by the patch");
}

TEST_F(FakeBuild, ChangedHeaderAffectsEveryUnitThatIncludesIt) {
  auto deps = BuildDeps::load((root / "build").string());
  ASSERT_TRUE(deps);
  auto u = affected_units({{"include/linux/seq_file.h", false, false, {}}}, &*deps);
  ASSERT_TRUE(u);
  ASSERT_EQ(u->size(), 2u);
  EXPECT_EQ((*u)[0].object, "fs/proc/cmdline.o");
  EXPECT_EQ((*u)[1].object, "fs/proc/meminfo.o");
  EXPECT_NE((*u)[0].why.find("include/linux/seq_file.h"), std::string::npos);
}

TEST_F(FakeBuild, CFileIncludedByAnotherUnitRebuildsTheIncluder) {
  auto deps = BuildDeps::load((root / "build").string());
  ASSERT_TRUE(deps);
  auto u = affected_units({{"kernel/sched/rt.c", false, false, {}}}, &*deps);
  ASSERT_TRUE(u) << u.error().str();
  ASSERT_EQ(u->size(), 1u);
  EXPECT_EQ((*u)[0].object, "kernel/sched/build_policy.o");
}

TEST_F(FakeBuild, SourceNotBuiltInThisConfigIsAUnitThatIsNotBuilt) {
  auto deps = BuildDeps::load((root / "build").string());
  ASSERT_TRUE(deps);
  auto u = affected_units({{"fs/proc/kcore.c", false, false, {}}, {"fs/proc/cmdline.c", false, false, {}}}, &*deps);
  ASSERT_TRUE(u) << u.error().str();
  ASSERT_EQ(u->size(), 2u);
  EXPECT_EQ((*u)[0].object, "fs/proc/cmdline.o");
  EXPECT_EQ((*u)[0].not_built, "");
  EXPECT_EQ((*u)[1].object, "fs/proc/kcore.o");
  EXPECT_NE((*u)[1].not_built.find("has no fs/proc/kcore.o"), std::string::npos) << (*u)[1].not_built;
}

TEST(FirstCompileError, GccErrorWithIncludeChainRelativeToTheTree) {
  std::string log = "make[1]: Entering directory '/c/orig-obj'\n"
                    "  CC      fs/proc/cmdline.o\n"
                    "In file included from /c/src/fs/proc/cmdline.c:6:\n"
                    "/c/src/include/linux/foo.h:3:10: fatal error: linux/bar.h: No such file or directory\n"
                    "    3 | #include <linux/bar.h>\n"
                    "      |          ^~~~~~~~~~~~~\n"
                    "compilation terminated.\n"
                    "make[3]: *** [/c/src/scripts/Makefile.build:250: fs/proc/cmdline.o] Error 1\n"
                    "/c/src/fs/proc/other.c:9:1: error: second error\n";
  auto e = first_compile_error(log, "/c/src");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->file, "include/linux/foo.h");
  EXPECT_EQ(e->line, 3u);
  EXPECT_EQ(e->column, 10u);
  EXPECT_EQ(e->message, "fatal error: linux/bar.h: No such file or directory");
  EXPECT_EQ(e->object, "fs/proc/cmdline.o");
  EXPECT_EQ(e->context, "In file included from fs/proc/cmdline.c:6:\n    3 | #include <linux/bar.h>\n"
                        "      |          ^~~~~~~~~~~~~\ncompilation terminated.\n");
}

TEST(FirstCompileError, WarningsAndMakeNoiseAreNoError) {
  EXPECT_FALSE(first_compile_error("/c/src/a.c:1:2: warning: unused variable 'x'\nmake: *** [Makefile:2: all] Error 2\n",
                                   "/c/src"));
}

TEST_F(FakeBuild, NewSourceFileIsAnError) {
  auto u = affected_units({{"fs/proc/new.c", true, false, {}}}, nullptr);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message.find("Makefile"), std::string::npos);
}

TEST(AffectedUnits, HeaderWithoutDependencyListsIsAnError) {
  auto u = affected_units({{"include/linux/sched.h", false, false, {}}}, nullptr);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message.find("--kernel-build"), std::string::npos);
}

TEST(BuildDeps, DirectoryWithoutABuildIsRefused) {
  auto d = BuildDeps::load(fs::temp_directory_path().string());
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("full kernel build"), std::string::npos);
}

// CONFIG_MODVERSIONS: genksyms' `#SYMVER` lines after the command in the unit's .cmd file,
// read from both object trees; none in either file means there is nothing to check.
TEST_F(FakeBuild, SymverCrcsFromBothTreesCmdFiles) {
  fs::create_directories(root / "patched/fs/proc");
  std::ofstream(root / "build/fs/proc/.cmdline.o.cmd", std::ios::app) << "#SYMVER proc_cmdline_show 0x1234abcd\n";
  std::ofstream(root / "patched/fs/proc/.cmdline.o.cmd")
      << "cmd_fs/proc/cmdline.o := gcc -c\n#SYMVER proc_cmdline_show 0x0badf00d\n#SYMVER proc_other 0x00000001\n";
  auto crcs = unit_symver_crcs((root / "build").string(), (root / "patched").string(), "fs/proc/cmdline.o");
  ASSERT_TRUE(crcs) << crcs.error().str();
  ASSERT_TRUE(*crcs);
  EXPECT_EQ((*crcs)->first, (SymverCrcs{{"proc_cmdline_show", 0x1234abcd}}));
  EXPECT_EQ((*crcs)->second, (SymverCrcs{{"proc_cmdline_show", 0x0badf00d}, {"proc_other", 1}}));

  std::ofstream(root / "patched/fs/proc/.meminfo.o.cmd") << "cmd_fs/proc/meminfo.o := gcc -c\n";
  auto none = unit_symver_crcs((root / "build").string(), (root / "patched").string(), "fs/proc/meminfo.o");
  ASSERT_TRUE(none) << none.error().str();
  EXPECT_FALSE(*none);

  std::ofstream(root / "patched/fs/proc/.meminfo.o.cmd", std::ios::app) << "#SYMVER meminfo_thing zz\n";
  auto bad = unit_symver_crcs((root / "build").string(), (root / "patched").string(), "fs/proc/meminfo.o");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().str().find(".meminfo.o.cmd"), std::string::npos) << bad.error().str();
}

} // namespace
