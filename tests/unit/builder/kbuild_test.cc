// SPDX-License-Identifier: GPL-2.0-only
// Affected units from kbuild dependency lists (a fake full build made of .cmd files).
#include <gtest/gtest.h>

#include <algorithm>
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

TEST_F(FakeBuild, DependencyReachedThroughDotDotIsNormalised) {
  // drivers/cpufreq/intel_pstate.c: #include "../drivers/thermal/intel/thermal_interrupt.h",
  // found through -I include; fixdep writes the path gcc opened.
  fs::create_directories(root / "build/drivers/cpufreq");
  cmd("drivers/cpufreq/intel_pstate.o",
      {"drivers/cpufreq/intel_pstate.c", "include/../drivers/thermal/intel/thermal_interrupt.h"});
  auto deps = BuildDeps::load((root / "build").string());
  ASSERT_TRUE(deps);
  EXPECT_EQ(deps->dependents("drivers/thermal/intel/thermal_interrupt.h"),
            std::vector<std::string>{"drivers/cpufreq/intel_pstate.o"});
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

TEST(CompileWarnings, GccAndObjtoolWarningsRelativeToTheTree) {
  std::string log = "  CC      kernel/sys.o\n"
                    "/c/src/kernel/sys.c: In function '__do_sys_sethostname':\n"
                    "/c/src/kernel/sys.c:1385:13: warning: unused variable 'x' [-Wunused-variable]\n"
                    " 1385 |         int x;\n"
                    "      |             ^\n"
                    "kernel/sys.o: warning: objtool: __do_sys_sethostname+0x1e: unreachable instruction\n"
                    "/c/src/kernel/sys.c:1400:2: error: not a warning\n";
  auto w = compile_warnings(log, "/c/src");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].file, "kernel/sys.c");
  EXPECT_EQ(w[0].line, 1385u);
  EXPECT_EQ(w[0].column, 13u);
  EXPECT_EQ(w[0].message, "unused variable 'x' [-Wunused-variable]");
  EXPECT_EQ(w[0].str(), "kernel/sys.c:1385:13: unused variable 'x' [-Wunused-variable]");
  EXPECT_EQ(w[1].file, "kernel/sys.o");
  EXPECT_EQ(w[1].line, 0u);
  EXPECT_EQ(w[1].str(), "kernel/sys.o: objtool: __do_sys_sethostname+0x1e: unreachable instruction");
}

TEST(CompileWarnings, AHeaderWarningPrintedForEveryUnitIsListedOnce) {
  std::string one = "/c/src/include/linux/foo.h:3:5: warning: 'f' defined but not used [-Wunused-function]\n";
  auto w = compile_warnings("  CC a.o\n" + one + "  CC b.o\n" + one, "/c/src");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].file, "include/linux/foo.h");
}

TEST(CompileWarnings, ACleanLogHasNone) {
  EXPECT_TRUE(compile_warnings("  CC      kernel/sys.o\n  LD [M]  x.ko\nmake: Leaving directory '/c'\n", "/c/src").empty());
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

// The cache of the dependency lists (BuildDeps::load_cached): the same answers as a scan,
// and a new scan whenever a .cmd file is rewritten, added or removed.
namespace {
std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}
} // namespace

TEST_F(FakeBuild, CachedDependencyListsAnswerAsTheScan) {
  std::string cache = (root / "cache").string();
  auto first = BuildDeps::load_cached((root / "build").string(), cache);
  ASSERT_TRUE(first) << first.error().str();
  EXPECT_FALSE(first->from_cache());
  auto second = BuildDeps::load_cached((root / "build").string(), cache);
  ASSERT_TRUE(second) << second.error().str();
  EXPECT_TRUE(second->from_cache());
  auto scanned = BuildDeps::load((root / "build").string());
  ASSERT_TRUE(scanned);
  EXPECT_EQ(second->object_count(), scanned->object_count());
  EXPECT_EQ(second->dir(), scanned->dir());
  for (const char *dep : {"include/linux/seq_file.h", "include/linux/proc_fs.h", "kernel/sched/rt.c",
                          "fs/proc/cmdline.c", "include/generated/autoconf.h", "include/linux/none.h"})
    EXPECT_EQ(sorted(second->dependents(dep)), sorted(scanned->dependents(dep))) << dep;
  EXPECT_TRUE(second->built("kernel/sched/build_policy.o"));
  EXPECT_FALSE(second->built("fs/proc/kcore.o"));
}

TEST_F(FakeBuild, RewrittenCmdFileInvalidatesTheCachedLists) {
  std::string cache = (root / "cache").string();
  ASSERT_TRUE(BuildDeps::load_cached((root / "build").string(), cache));
  // meminfo.o now includes proc_fs.h too (kbuild rewrote its .cmd after a rebuild).
  cmd("fs/proc/meminfo.o", {"fs/proc/meminfo.c", "include/linux/seq_file.h", "include/linux/proc_fs.h"});
  auto d = BuildDeps::load_cached((root / "build").string(), cache);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->from_cache());
  EXPECT_EQ(sorted(d->dependents("include/linux/proc_fs.h")),
            (std::vector<std::string>{"fs/proc/cmdline.o", "fs/proc/meminfo.o"}));
}

TEST_F(FakeBuild, AddedOrRemovedCmdFileInvalidatesTheCachedLists) {
  std::string cache = (root / "cache").string(), build = (root / "build").string();
  ASSERT_TRUE(BuildDeps::load_cached(build, cache));
  cmd("fs/proc/kcore.o", {"fs/proc/kcore.c"});
  auto added = BuildDeps::load_cached(build, cache);
  ASSERT_TRUE(added);
  EXPECT_FALSE(added->from_cache());
  EXPECT_TRUE(added->built("fs/proc/kcore.o"));
  fs::remove(root / "build/fs/proc/.kcore.o.cmd");
  auto removed = BuildDeps::load_cached(build, cache);
  ASSERT_TRUE(removed);
  EXPECT_FALSE(removed->from_cache());
  EXPECT_FALSE(removed->built("fs/proc/kcore.o"));
}

TEST_F(FakeBuild, CacheFileOfAnotherFingerprintIsNotUsed) {
  auto d = BuildDeps::load((root / "build").string());
  ASSERT_TRUE(d);
  std::string text = d->serialize("aaaa");
  EXPECT_TRUE(BuildDeps::parse(text, "aaaa"));
  EXPECT_FALSE(BuildDeps::parse(text, "bbbb"));
  EXPECT_FALSE(BuildDeps::parse(text.substr(0, text.size() / 2) + "\nbroken", "aaaa"));
}
