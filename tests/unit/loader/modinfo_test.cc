// SPDX-License-Identifier: GPL-2.0-only
// .modinfo reading and the compatibility checks made before anything is loaded.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "elf/notes.h"
#include "kernel.h"
#include "modinfo.h"
#include "test_util.h"

namespace kpg::load::test {
namespace {

TEST(Modinfo, ReadsKeysAndNameFromCompiledObject) {
  TempDir t;
  std::string ko = build_module(t.path(), "kpg-a", good_modinfo("kpg_a"));
  auto mi = read_modinfo(ko);
  ASSERT_TRUE(mi) << mi.error().str();
  EXPECT_EQ(mi->name, "kpg_a");
  EXPECT_TRUE(mi->is_livepatch());
  EXPECT_EQ(mi->get("vermagic"), kVermagic);
  EXPECT_EQ(mi->get("kpg_target_build_id"), kBuildId);
  EXPECT_EQ(mi->get("depends"), "");
  EXPECT_FALSE(mi->get("nonexistent"));
}

TEST(Modinfo, FallsBackToThisModuleNameWithoutNameKey) {
  TempDir t;
  std::string ko = build_module(t.path(), "m", with(good_modinfo("x"), "name", std::nullopt), std::string("kpg_from_struct"));
  auto mi = read_modinfo(ko);
  ASSERT_TRUE(mi) << mi.error().str();
  EXPECT_EQ(mi->name, "kpg_from_struct");
}

TEST(Modinfo, NameKeyDashesBecomeUnderscores) {
  TempDir t;
  std::string ko = build_module(t.path(), "m", good_modinfo("kpg-dash-name"));
  auto mi = read_modinfo(ko);
  ASSERT_TRUE(mi);
  EXPECT_EQ(mi->name, "kpg_dash_name");
}

TEST(Modinfo, RejectsNonElfFile) {
  TempDir t;
  std::string p = t.path() + "/not.ko";
  std::ofstream(p) << "#!/bin/sh\necho not a module\n";
  auto mi = read_modinfo(p);
  ASSERT_FALSE(mi);
  EXPECT_TRUE(contains(mi.error().str(), "not an ELF file")) << mi.error().str();
  EXPECT_TRUE(contains(mi.error().str(), p));
}

TEST(Modinfo, RejectsObjectWithoutModinfoSection) {
  TempDir t;
  std::string c = t.path() + "/plain.c", o = t.path() + "/plain.ko";
  std::ofstream(c) << "int plain_function(void) { return 1; }\n";
  ASSERT_EQ(std::system(("cc -c -o " + o + " " + c).c_str()), 0);
  auto mi = read_modinfo(o);
  ASSERT_FALSE(mi);
  EXPECT_TRUE(contains(mi.error().str(), "no .modinfo section")) << mi.error().str();
}

TEST(Modinfo, RejectsTruncatedElfWithoutCrashing) {
  TempDir t;
  std::string ko = build_module(t.path(), "m", good_modinfo("kpg_a"));
  // Keep the ELF header but cut the file in the middle: section headers now lie beyond EOF.
  std::filesystem::resize_file(ko, 200);
  auto mi = read_modinfo(ko);
  ASSERT_FALSE(mi);
  EXPECT_TRUE(contains(mi.error().str(), "outside the file")) << mi.error().str();
}

TEST(Modinfo, MissingFileNamesThePath) {
  auto mi = read_modinfo("/nonexistent/kpg.ko");
  ASSERT_FALSE(mi);
  EXPECT_TRUE(contains(mi.error().str(), "/nonexistent/kpg.ko"));
  EXPECT_TRUE(contains(mi.error().str(), "ENOENT"));
}

TEST(Modinfo, BuildIdNormalizationAcceptsHexOnly) {
  EXPECT_EQ(normalize_build_id("ABcd01"), "abcd01");
  EXPECT_FALSE(normalize_build_id("abc"));   // odd length
  EXPECT_FALSE(normalize_build_id("zz"));    // not hex
  EXPECT_FALSE(normalize_build_id(""));      // empty
  EXPECT_FALSE(normalize_build_id(std::string(130, 'a')));
}

// --- running-kernel facts ---------------------------------------------------------------

TEST(KernelFacts, BuildIdFoundBetweenOtherNotes) {
  TempDir t;
  FakeKernel k(t.path());
  auto rk = probe_kernel(k);
  ASSERT_TRUE(rk);
  EXPECT_EQ(rk->release, kRelease);
  EXPECT_EQ(rk->build_id, kBuildId);
}

TEST(KernelFacts, NoGnuNoteMeansNoBuildId) {
  TempDir t;
  FakeKernel k(t.path());
  k.set_build_id(std::nullopt);
  auto rk = probe_kernel(k);
  ASSERT_TRUE(rk);
  EXPECT_FALSE(rk->build_id);
  EXPECT_TRUE(contains(rk->build_id_problem, "no GNU build ID"));
}

TEST(KernelFacts, TruncatedNoteStreamYieldsNothing) {
  std::vector<u8> notes = {4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, 'G', 'N', 'U', 0, 1, 2}; // desc cut short
  EXPECT_FALSE(elf::find_gnu_build_id(notes));
}

TEST(KernelFacts, VermagicFlagsFromConfigFile) {
  VermagicFlags f = flags_from_config("CONFIG_SMP=y\nCONFIG_PREEMPT_BUILD=y\nCONFIG_MODULE_UNLOAD=y\n"
                                      "# CONFIG_MODVERSIONS is not set\n",
                                      "/boot/config-x");
  EXPECT_EQ(f.smp, Tri::Yes);
  EXPECT_EQ(f.preempt, Tri::Yes);
  EXPECT_EQ(f.preempt_rt, Tri::No);
  EXPECT_EQ(f.mod_unload, Tri::Yes);
  EXPECT_EQ(f.modversions, Tri::No);
}

TEST(KernelFacts, ConfigFileIsPreferredOverRuntimeDerivation) {
  TempDir t;
  FakeKernel k(t.path());
  k.write_tree_file("/boot/config-" + kRelease, "CONFIG_SMP=y\nCONFIG_MODULE_UNLOAD=y\n");
  auto rk = probe_kernel(k);
  ASSERT_TRUE(rk);
  EXPECT_EQ(rk->flags.method, "/boot/config-" + kRelease);
  EXPECT_EQ(rk->flags.modversions, Tri::No); // kallsyms has module_layout, but the config wins
}

TEST(KernelFacts, RuntimeFlagsFromUtsVersionAndKallsyms) {
  VermagicFlags f = flags_from_runtime("#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1", std::string("ffff T module_layout\n"));
  EXPECT_EQ(f.smp, Tri::Yes);
  EXPECT_EQ(f.preempt, Tri::Yes);
  EXPECT_EQ(f.modversions, Tri::Yes);
  EXPECT_EQ(f.mod_unload, Tri::No);
}

TEST(KernelFacts, RuntimeFlagsUnknownWithoutKallsyms) {
  VermagicFlags f = flags_from_runtime("#1 SMP", std::nullopt);
  EXPECT_EQ(f.smp, Tri::Yes);
  EXPECT_EQ(f.preempt, Tri::No);
  EXPECT_EQ(f.mod_unload, Tri::Unknown);
  EXPECT_EQ(f.modversions, Tri::Unknown);
}

TEST(KernelFacts, KallsymsMatchIsExactSymbolName) {
  VermagicFlags f = flags_from_runtime("#1", std::string("ffff T module_layout_extra\nffff t my_module_refcount\n"));
  EXPECT_EQ(f.modversions, Tri::No);
  EXPECT_EQ(f.mod_unload, Tri::No);
}

// --- compatibility ----------------------------------------------------------------------

struct Compat : ::testing::Test {
  TempDir t;
  FakeKernel k{t.path()};
  CompatReport check(const std::vector<std::string> &entries) {
    std::string ko = build_module(t.path(), "m", entries);
    auto mi = read_modinfo(ko);
    EXPECT_TRUE(mi);
    auto rk = probe_kernel(k);
    EXPECT_TRUE(rk);
    return check_compat(*mi, *rk);
  }
};

TEST_F(Compat, MatchingModuleHasNoRefusals) {
  CompatReport r = check(good_modinfo("kpg_a"));
  EXPECT_TRUE(r.refusals.empty()) << r.refusals.front();
}

TEST_F(Compat, RefusesModuleWithoutLivepatchFlag) {
  CompatReport r = check(with(good_modinfo("kpg_a"), "livepatch", std::nullopt));
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_TRUE(contains(r.refusals[0], "not a livepatch module"));
}

TEST_F(Compat, RefusesWrongRelease) {
  CompatReport r = check(with(good_modinfo("kpg_a"), "vermagic", "6.1.0-other SMP preempt mod_unload modversions "));
  ASSERT_FALSE(r.refusals.empty());
  EXPECT_TRUE(contains(r.refusals[0], "built for kernel release '6.1.0-other'"));
  EXPECT_TRUE(contains(r.refusals[0], "'" + kRelease + "'"));
}

TEST_F(Compat, RefusesMissingVermagicFlag) {
  CompatReport r = check(with(good_modinfo("kpg_a"), "vermagic", kRelease + " SMP preempt mod_unload "));
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_TRUE(contains(r.refusals[0], "lacks 'modversions'"));
}

TEST_F(Compat, RefusesExtraVermagicFlag) {
  k.write_tree_file("/proc/sys/kernel/version", "#1 SMP Thu Jan 1\n"); // not preemptible
  CompatReport r = check(good_modinfo("kpg_a"));
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_TRUE(contains(r.refusals[0], "has 'preempt'"));
}

TEST_F(Compat, RefusesWrongBuildId) {
  CompatReport r = check(with(good_modinfo("kpg_a"), "kpg_target_build_id", std::string(40, 'e')));
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_TRUE(contains(r.refusals[0], "build ID " + std::string(40, 'e')));
  EXPECT_TRUE(contains(r.refusals[0], kBuildId));
}

TEST_F(Compat, AcceptsUppercaseBuildId) {
  std::string upper = kBuildId;
  for (char &c : upper)
    c = static_cast<char>(std::toupper(c));
  EXPECT_TRUE(check(with(good_modinfo("kpg_a"), "kpg_target_build_id", upper)).refusals.empty());
}

TEST_F(Compat, RefusesBuildIdWhenKernelHasNone) {
  k.set_build_id(std::nullopt);
  CompatReport r = check(good_modinfo("kpg_a"));
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_TRUE(contains(r.refusals[0], "cannot be read"));
}

TEST_F(Compat, RefusesMalformedBuildId) {
  CompatReport r = check(with(good_modinfo("kpg_a"), "kpg_target_build_id", "xyz"));
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_TRUE(contains(r.refusals[0], "not an even-length hex string"));
}

TEST_F(Compat, RefusesWrongTargetReleaseKey) {
  CompatReport r = check(with(good_modinfo("kpg_a"), "kpg_target_release", "5.10.0"));
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_TRUE(contains(r.refusals[0], "kpg_target_release is '5.10.0'"));
}

TEST_F(Compat, WithoutBuildIdKeyOnlyNotes) {
  CompatReport r = check(with(good_modinfo("kpg_a"), "kpg_target_build_id", std::nullopt));
  EXPECT_TRUE(r.refusals.empty());
  EXPECT_TRUE(any_contains(r.notes, "no kpg_target_build_id"));
}

TEST_F(Compat, UnknownVermagicWordsAreLeftToTheKernel) {
  CompatReport r = check(with(good_modinfo("kpg_a"), "vermagic", kVermagic + "RANDSTRUCT_abc "));
  EXPECT_TRUE(r.refusals.empty());
  EXPECT_TRUE(any_contains(r.notes, "'RANDSTRUCT_abc' not checked"));
}

} // namespace
} // namespace kpg::load::test
