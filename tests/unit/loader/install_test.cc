// SPDX-License-Identifier: GPL-2.0-only
// install / uninstall / load --installed / rollback bookkeeping.
#include <gtest/gtest.h>

#include <filesystem>

#include "install.h"
#include "test_util.h"

namespace kpg::load::test {
namespace {

struct Install : LoaderTest {
  OpResult install(const std::string &name) { return install_module(host, rep, store, mod(name)); }
  std::vector<std::string> stack() {
    std::vector<std::string> out;
    auto st = store.read_installed(); // named: a temporary in the range-init would dangle
    if (!st)
      return {"<" + st.error().str() + ">"};
    for (const InstalledPatch &p : st->stack)
      out.push_back(p.name);
    return out;
  }
  // install + load --installed, as an admin would do for each new cumulative patch.
  void install_and_load(const std::string &name) {
    ASSERT_EQ(install(name).code, ExitCode::Ok);
    ASSERT_EQ(load_installed(host, rep, store, opts, false).code, ExitCode::Ok);
  }
};

TEST_F(Install, CopiesModuleAndRecordsHistory) {
  OpResult r = install("kpg_v1");
  EXPECT_EQ(r.code, ExitCode::Ok);
  auto st = store.read_installed();
  ASSERT_TRUE(st);
  ASSERT_EQ(st->stack.size(), 1u);
  EXPECT_EQ(st->stack[0].file, "modules/0001-kpg_v1.ko");
  EXPECT_TRUE(std::filesystem::exists(tree.path() + "/var/lib/kpatch-gen/" + kRelease + "/modules/0001-kpg_v1.ko"));
  ASSERT_EQ(st->history.size(), 1u);
  EXPECT_EQ(st->history[0].action, "install");
  EXPECT_TRUE(k.log().empty()); // installing does not load
}

TEST_F(Install, RefusesModuleForAnotherKernel) {
  std::string ko = build_module(mods.path(), "kpg_v1", with(good_modinfo("kpg_v1"), "kpg_target_release", "6.1.0-other"));
  OpResult r = install_module(host, rep, store, ko);
  EXPECT_EQ(r.code, ExitCode::Refused);
  EXPECT_TRUE(contains(r.errors[0], "not installed"));
  EXPECT_TRUE(stack().empty());
}

TEST_F(Install, SequenceNumbersKeepGrowingAfterUninstall) {
  ASSERT_EQ(install("kpg_v1").code, ExitCode::Ok);
  ASSERT_EQ(install("kpg_v2").code, ExitCode::Ok);
  ASSERT_EQ(uninstall_module(host, rep, store, "kpg_v2").code, ExitCode::Ok);
  ASSERT_EQ(install("kpg_v3").code, ExitCode::Ok);
  EXPECT_EQ(store.read_installed()->stack.back().file, "modules/0003-kpg_v3.ko");
}

TEST_F(Install, UninstallRemovesEntryAndFile) {
  ASSERT_EQ(install("kpg_v1").code, ExitCode::Ok);
  ASSERT_EQ(install("kpg_v2").code, ExitCode::Ok);
  OpResult r = uninstall_module(host, rep, store, "kpg_v1");
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_EQ(stack(), (std::vector<std::string>{"kpg_v2"}));
  EXPECT_FALSE(std::filesystem::exists(tree.path() + "/var/lib/kpatch-gen/" + kRelease + "/modules/0001-kpg_v1.ko"));
  EXPECT_EQ(store.read_installed()->history.back().action, "uninstall");
}

TEST_F(Install, UninstallOfUnknownNameFails) {
  OpResult r = uninstall_module(host, rep, store, "kpg_nope");
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors[0], "kpg_nope: not installed"));
}

TEST_F(Install, UninstallOfActivePatchSaysItStaysLoaded) {
  install_and_load("kpg_v1");
  ASSERT_EQ(uninstall_module(host, rep, store, "kpg_v1").code, ExitCode::Ok);
  EXPECT_TRUE(k.patch_enabled("kpg_v1"));
  EXPECT_TRUE(any_contains(rep.notes, "still loaded and active"));
}

TEST_F(Install, LoadInstalledLoadsTheNewest) {
  ASSERT_EQ(install("kpg_v1").code, ExitCode::Ok);
  ASSERT_EQ(install("kpg_v2").code, ExitCode::Ok);
  OpResult r = load_installed(host, rep, store, opts, false);
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_TRUE(k.patch_enabled("kpg_v2"));
  EXPECT_FALSE(k.logged("finit kpg_v1"));
}

TEST_F(Install, LoadInstalledIsSkippedByTheCommandLineSwitch) {
  ASSERT_EQ(install("kpg_v1").code, ExitCode::Ok);
  k.write_tree_file("/proc/cmdline", "console=ttyS0 kpatch_gen.disable quiet\n");
  OpResult r = load_installed(host, rep, store, opts, false);
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_TRUE(k.log().empty());
  EXPECT_TRUE(any_contains(rep.steps, "kpatch_gen.disable"));
}

TEST_F(Install, IgnoreCmdlineLoadsDespiteTheSwitch) {
  ASSERT_EQ(install("kpg_v1").code, ExitCode::Ok);
  k.write_tree_file("/proc/cmdline", "kpatch_gen.disable=1\n");
  EXPECT_EQ(load_installed(host, rep, store, opts, true).code, ExitCode::Ok);
  EXPECT_TRUE(k.patch_enabled("kpg_v1"));
}

TEST_F(Install, LoadInstalledDoesNothingWhenAlreadyActive) {
  install_and_load("kpg_v1");
  size_t before = k.log().size();
  EXPECT_EQ(load_installed(host, rep, store, opts, false).code, ExitCode::Ok);
  EXPECT_EQ(k.log().size(), before);
}

TEST_F(Install, LoadInstalledWithNothingInstalledIsOk) {
  EXPECT_EQ(load_installed(host, rep, store, opts, false).code, ExitCode::Ok);
  EXPECT_TRUE(any_contains(rep.steps, "nothing installed"));
}

TEST_F(Install, RollbackLoadsThePreviousPatchAsReplacement) {
  install_and_load("kpg_v1");
  install_and_load("kpg_v2");
  ASSERT_FALSE(k.module_loaded("kpg_v1")); // replaced and removed by the v2 load
  OpResult r = rollback(host, rep, store, opts);
  EXPECT_EQ(r.code, ExitCode::Ok) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_TRUE(k.patch_enabled("kpg_v1"));
  EXPECT_FALSE(k.patch_present("kpg_v2"));
  EXPECT_FALSE(k.module_loaded("kpg_v2"));
  EXPECT_EQ(stack(), (std::vector<std::string>{"kpg_v1"}));
  const HistoryEntry &h = store.read_installed()->history.back();
  EXPECT_EQ(h.action, "rollback");
  EXPECT_EQ(h.name, "kpg_v2");
  EXPECT_EQ(h.to, "kpg_v1");
}

TEST_F(Install, RollbackFromTheOnlyPatchUnloadsEverything) {
  install_and_load("kpg_v1");
  OpResult r = rollback(host, rep, store, opts);
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_FALSE(k.module_loaded("kpg_v1"));
  EXPECT_TRUE(stack().empty());
  EXPECT_EQ(store.read_installed()->history.back().to, "");
}

TEST_F(Install, RollbackWithNothingInstalledFails) {
  OpResult r = rollback(host, rep, store, opts);
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors[0], "nothing to roll back"));
}

TEST_F(Install, RollbackKeepsTheStackWhenTheLoadTimesOut) {
  install_and_load("kpg_v1");
  install_and_load("kpg_v2");
  FakeKernel::Task t{200, 200, "sleeper", {}, 0};
  t.stuck_patching = true;
  k.add_task(t);
  opts.wait.timeout_ms = 3000;
  OpResult r = rollback(host, rep, store, opts);
  EXPECT_EQ(r.code, ExitCode::Reverted);
  EXPECT_TRUE(k.patch_enabled("kpg_v2"));
  EXPECT_FALSE(k.module_loaded("kpg_v1"));
  EXPECT_EQ(stack(), (std::vector<std::string>{"kpg_v1", "kpg_v2"}));
}

TEST_F(Install, RollbackToNonReplacePatchIsReportedAndStackKept) {
  FakeKernel::PatchDef nonrep;
  nonrep.replace = false;
  k.define_patch("kpg_v1", nonrep);
  ASSERT_EQ(install("kpg_v1").code, ExitCode::Ok);
  install_and_load("kpg_v2");
  OpResult r = rollback(host, rep, store, opts);
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors.back(), "not a replace-mode"));
  EXPECT_EQ(stack(), (std::vector<std::string>{"kpg_v1", "kpg_v2"}));
}

TEST_F(Install, RollbackWhileTopIsNotLoadedOnlyChangesBootConfiguration) {
  ASSERT_EQ(install("kpg_v1").code, ExitCode::Ok);
  ASSERT_EQ(install("kpg_v2").code, ExitCode::Ok);
  OpResult r = rollback(host, rep, store, opts);
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_TRUE(k.log().empty());
  EXPECT_EQ(stack(), (std::vector<std::string>{"kpg_v1"}));
  EXPECT_TRUE(any_contains(rep.notes, "only the boot configuration changes"));
}

TEST_F(Install, CorruptStateFileIsReportedNotOverwritten) {
  k.write_tree_file("/var/lib/kpatch-gen/" + kRelease + "/installed.json", "{not json");
  OpResult r = install("kpg_v1");
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors[0], "installed.json: not valid JSON"));
  EXPECT_EQ(*k.read("/var/lib/kpatch-gen/" + kRelease + "/installed.json"), "{not json");
}

TEST(Cmdline, SwitchMatchesWordAndAssignmentOnly) {
  EXPECT_TRUE(cmdline_disables("ro kpatch_gen.disable quiet"));
  EXPECT_TRUE(cmdline_disables("kpatch_gen.disable=1"));
  EXPECT_FALSE(cmdline_disables("kpatch_gen.disabled"));
  EXPECT_FALSE(cmdline_disables("xkpatch_gen.disable"));
  EXPECT_FALSE(cmdline_disables(""));
}

} // namespace
} // namespace kpg::load::test
