// SPDX-License-Identifier: GPL-2.0-only
// `unload` and `unload --all`: disable, unpatching transition, references, delete_module.
#include <gtest/gtest.h>

#include "loader.h"
#include "test_util.h"

namespace kpg::load::test {
namespace {

struct Unload : LoaderTest {
  OpResult unload(const std::string &name) { return unload_patch(host, rep, &store, name, opts); }
};

TEST_F(Unload, DisablesWaitsAndDeletes) {
  k.preload("kpg_a");
  k.add_task({100, 100, "worker", {}, 1500});
  OpResult r = unload("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Ok) << (r.errors.empty() ? "" : r.errors[0]);
  size_t w = k.log_index("write kpg_a enabled 0"), c = k.log_index("complete kpg_a 0"), d = k.log_index("delete kpg_a");
  ASSERT_NE(d, std::string::npos);
  EXPECT_LT(w, c);
  EXPECT_LT(c, d);
  EXPECT_FALSE(k.module_loaded("kpg_a"));
  EXPECT_GE(r.transition_ms, 2000);
}

TEST_F(Unload, DeletesOnlyAfterTheReferenceDrops) {
  FakeKernel::PatchDef def;
  def.free_delay_ms = 700; // klp_free_patch_finish runs from a work item after completion
  k.define_patch("kpg_a", def);
  k.preload("kpg_a");
  OpResult r = unload("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Ok);
  // The only delete_module call is the successful one: we waited for refcnt 0 instead of
  // hammering EWOULDBLOCK.
  size_t deletes = 0;
  for (const std::string &e : k.log())
    deletes += e == "delete kpg_a";
  EXPECT_EQ(deletes, 1u);
  EXPECT_GE(k.now_ms(), 700);
}

TEST_F(Unload, TimeoutReEnablesThePatch) {
  k.preload("kpg_a");
  FakeKernel::Task t{200, 200, "in_new_code", {"[<0>] cmdline_proc_show+0x1/0x2 [kpg_a]"}, 0};
  t.stuck_unpatching = true;
  k.add_task(t);
  opts.wait.timeout_ms = 4000;
  OpResult r = unload("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Reverted);
  EXPECT_TRUE(k.logged("write kpg_a enabled 1"));
  EXPECT_TRUE(k.patch_enabled("kpg_a"));
  EXPECT_FALSE(k.in_transition());
  EXPECT_TRUE(k.module_loaded("kpg_a"));
  ASSERT_FALSE(r.errors.empty());
  EXPECT_TRUE(contains(r.errors[0], "fully applied again"));
  EXPECT_TRUE(contains(r.errors[0], "in_new_code"));
}

TEST_F(Unload, UnknownNameFails) {
  OpResult r = unload("kpg_nope");
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors[0], "kpg_nope: no such livepatch is loaded"));
  EXPECT_TRUE(k.log().empty());
}

TEST_F(Unload, ReplacedModuleIsJustRemoved) {
  k.preload("kpg_a");
  k.preload("kpg_b"); // replaces kpg_a
  OpResult r = unload("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_FALSE(k.logged("write kpg_a enabled 0"));
  EXPECT_TRUE(k.logged("delete kpg_a"));
  EXPECT_TRUE(k.patch_enabled("kpg_b"));
}

TEST_F(Unload, WaitsWhileAnotherPatchIsInTransition) {
  FakeKernel::PatchDef nonrep;
  nonrep.replace = false;
  k.define_patch("kpg_b", nonrep);
  k.preload("kpg_a");
  FakeKernel::Task t{200, 200, "slow", {}, 2500};
  k.add_task(t);
  ASSERT_EQ(k.load_module(mod("kpg_b"), ""), 0);
  ASSERT_TRUE(k.in_transition()); // kpg_b's transition holds the kernel's single slot
  OpResult r = unload("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Ok) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_TRUE(any_contains(rep.steps, "another livepatch is in transition"));
  EXPECT_FALSE(k.module_loaded("kpg_a"));
}

TEST_F(Unload, AllGoesNewestFirst) {
  FakeKernel::PatchDef nonrep;
  nonrep.replace = false;
  k.define_patch("kpg_a", nonrep);
  k.define_patch("kpg_b", nonrep);
  k.define_patch("kpg_c", nonrep);
  k.preload("kpg_a");
  k.preload("kpg_b");
  k.preload("kpg_c");
  OpResult r = unload_all(host, rep, &store, opts);
  EXPECT_EQ(r.code, ExitCode::Ok);
  size_t a = k.log_index("write kpg_a enabled 0"), b = k.log_index("write kpg_b enabled 0"),
         c = k.log_index("write kpg_c enabled 0");
  ASSERT_NE(a, std::string::npos);
  EXPECT_LT(c, b);
  EXPECT_LT(b, a);
  EXPECT_FALSE(k.module_loaded("kpg_a") || k.module_loaded("kpg_b") || k.module_loaded("kpg_c"));
}

TEST_F(Unload, AllWithNothingLoadedIsOk) {
  OpResult r = unload_all(host, rep, &store, opts);
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_TRUE(any_contains(rep.steps, "no livepatch modules loaded"));
}

TEST_F(Unload, AllLeavesNonLivepatchModulesAlone) {
  k.preload("some_driver", /*livepatch=*/false);
  k.preload("kpg_a");
  OpResult r = unload_all(host, rep, &store, opts);
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_TRUE(k.module_loaded("some_driver"));
  EXPECT_FALSE(k.logged("delete some_driver"));
}

TEST_F(Unload, ForcedUnpatchLeavesModulePinned) {
  k.preload("kpg_a");
  FakeKernel::Task t{200, 200, "in_new_code", {}, 0};
  t.stuck_unpatching = true;
  k.add_task(t);
  opts.wait.force_after_ms = 1000;
  OpResult r = unload("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Forced);
  EXPECT_FALSE(k.patch_present("kpg_a"));
  EXPECT_TRUE(k.module_loaded("kpg_a"));
  EXPECT_FALSE(k.logged("delete kpg_a"));
  EXPECT_TRUE(rep.any_warning_contains("cannot be removed until reboot"));
}

TEST_F(Unload, ReferenceThatNeverDropsIsReported) {
  k.preload("kpg_a");
  k.add_extra_ref("kpg_a", 1); // e.g. a module that depends on it
  opts.refcnt_timeout_ms = 3000;
  OpResult r = unload("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors[0], "kpg_a: module still in use after 3.0 s (refcnt 1); not removed"));
  EXPECT_FALSE(k.patch_present("kpg_a"));
}

TEST_F(Unload, GarbageInEnabledIsNotActedOn) {
  k.preload("kpg_a");
  k.write_tree_file("/sys/kernel/livepatch/kpg_a/enabled", "2\n");
  OpResult r = unload("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors[0], "enabled contains '2'"));
  EXPECT_FALSE(k.logged("write kpg_a enabled 0"));
}

} // namespace
} // namespace kpg::load::test
