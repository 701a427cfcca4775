// SPDX-License-Identifier: GPL-2.0-only
// `load`: the state machine from finit_module to a completed (or reversed) transition.
#include <gtest/gtest.h>

#include <cerrno>

#include "loader.h"
#include "test_util.h"

namespace kpg::load::test {
namespace {

const std::string kStack0 = "[<0>] kpg_stall_sleep+0x1c/0x30 [kpg_stall_target]";
const std::string kStack1 = "[<0>] kthread+0xe8/0x110";

struct Load : LoaderTest {
  OpResult load(const std::string &name) { return load_module(host, rep, &store, mod(name), opts); }
  // A kernel thread asleep in the function the patch replaces: it never switches to patched.
  void add_sleeper(i32 tid = 200) {
    FakeKernel::PatchDef def;
    def.objs = {{"kpg_stall_target", {{"kpg_stall_sleep", 1}}}};
    k.define_patch("kpg_a", def);
    FakeKernel::Task t{tid, tid, "kpg_sleeper", {kStack0, kStack1}, 0};
    t.stuck_patching = true;
    k.add_task(t);
  }
  std::string task_state(i32 tid) { return *k.read("/proc/" + std::to_string(tid) + "/task/" + std::to_string(tid) + "/patch_state"); }
};

TEST_F(Load, CompletesWhenAllTasksSwitch) {
  k.add_task({100, 100, "worker", {}, 1500});
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Ok) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_TRUE(k.patch_enabled("kpg_a"));
  EXPECT_FALSE(k.in_transition());
  // The kernel re-checks at 1 s and 2 s; the worker is switchable from 1.5 s.
  EXPECT_GE(r.transition_ms, 2000);
  EXPECT_LE(r.transition_ms, 2500);
}

TEST_F(Load, TransitionTimeIncludesFinitModule) {
  FakeKernel::PatchDef def;
  def.load_ms = 300; // klp_enable_patch runs, and completes the transition, inside finit_module
  k.define_patch("kpg_a", def);
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_EQ(r.transition_ms, 300);
  EXPECT_TRUE(any_contains(rep.steps, "kpg_a: patched in 0.300 s (finit_module 0.300 s)"));
}

TEST_F(Load, RecordsTargetKernelOfLoadedModule) {
  ASSERT_EQ(load("kpg_a").code, ExitCode::Ok);
  std::optional<LoadedRecord> rec = store.loaded_record("kpg_a");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->target_build_id, kBuildId);
  EXPECT_EQ(rec->target_release, kRelease);
  EXPECT_EQ(rec->vermagic, kVermagic);
}

TEST_F(Load, ProgressCountsPendingTasksDown) {
  k.add_task({101, 101, "w1", {}, 500});
  k.add_task({102, 102, "w2", {}, 1500});
  k.add_task({103, 103, "w3", {}, 2500});
  ASSERT_EQ(load("kpg_a").code, ExitCode::Ok);
  std::vector<u64> counts;
  for (const Progress &p : rep.progress_events)
    counts.push_back(p.pending.value());
  EXPECT_EQ(counts, (std::vector<u64>{3, 2, 1}));
}

TEST_F(Load, PollingStartsFastAndBacksOffToHalfSecond) {
  k.add_task({100, 100, "worker", {}, 5000});
  ASSERT_EQ(load("kpg_a").code, ExitCode::Ok);
  const std::vector<i64> &s = k.sleeps();
  ASSERT_GT(s.size(), 5u);
  EXPECT_EQ(s.front(), 20);
  for (size_t i = 1; i < s.size(); i++)
    EXPECT_GE(s[i], s[i - 1]);
  EXPECT_EQ(s.back(), 500);
  EXPECT_LE(*std::max_element(s.begin(), s.end()), 500);
}

TEST_F(Load, StallNamesBlockingTaskWithStackAndPatchedFrame) {
  add_sleeper();
  opts.wait.timeout_ms = 10000;
  (void)load("kpg_a");
  ASSERT_FALSE(rep.stalls.empty());
  const StallReport &s = rep.stalls[0];
  EXPECT_GE(s.stalled_ms, 3000);
  ASSERT_EQ(s.blockers.size(), 1u);
  EXPECT_EQ(s.blockers[0].task.tid, 200);
  EXPECT_EQ(s.blockers[0].comm, "kpg_sleeper");
  EXPECT_EQ(s.blockers[0].stack, (std::vector<std::string>{kStack0, kStack1}));
  EXPECT_EQ(s.blockers[0].patched_frames, (std::vector<std::string>{"kpg_stall_sleep"}));
}

TEST_F(Load, StallIsReportedOncePerBlockerSet) {
  add_sleeper();
  opts.wait.timeout_ms = 20000;
  (void)load("kpg_a");
  EXPECT_EQ(rep.stalls.size(), 1u);
}

TEST_F(Load, StallIsReportedAgainWhenBlockersChange) {
  add_sleeper(200);
  FakeKernel::Task t2{201, 201, "other", {}, 0};
  t2.stuck_patching = true;
  k.add_task(t2);
  k.at(5000, [&] { k.set_stuck(201, false, false); });
  opts.wait.timeout_ms = 15000;
  (void)load("kpg_a");
  ASSERT_EQ(rep.stalls.size(), 2u);
  EXPECT_EQ(rep.stalls[0].pending, 2u);
  EXPECT_EQ(rep.stalls[1].pending, 1u);
  EXPECT_EQ(rep.stalls[1].blockers[0].task.tid, 200);
}

TEST_F(Load, UnreadableStackIsSaidInTheStall) {
  FakeKernel::Task t{300, 300, "secretive", {}, 0};
  t.stuck_patching = true;
  t.stack_readable = false;
  k.add_task(t);
  opts.wait.timeout_ms = 5000;
  (void)load("kpg_a");
  ASSERT_FALSE(rep.stalls.empty());
  EXPECT_TRUE(contains(rep.stalls[0].blockers[0].stack_problem, "cannot open"));
}

TEST_F(Load, TimeoutReversesAndRemovesModule) {
  add_sleeper();
  opts.wait.timeout_ms = 5000;
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Reverted);
  EXPECT_TRUE(k.logged("write kpg_a enabled 0"));
  EXPECT_TRUE(k.logged("complete kpg_a 0"));
  EXPECT_TRUE(k.logged("delete kpg_a"));
  EXPECT_FALSE(k.module_loaded("kpg_a"));
  EXPECT_FALSE(k.patch_present("kpg_a"));
  EXPECT_EQ(task_state(200), "-1\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "timed out after 5.0 s"));
  EXPECT_TRUE(contains(r.errors[0], "system is as before"));
  EXPECT_TRUE(contains(r.errors[0], "kpg_sleeper"));
  EXPECT_TRUE(contains(r.errors[0], "kpg_stall_sleep"));
  EXPECT_FALSE(store.loaded_record("kpg_a"));
}

TEST_F(Load, ForceIsNeverWrittenUnlessAsked) {
  add_sleeper();
  opts.wait.timeout_ms = 30000;
  (void)load("kpg_a");
  for (const std::string &e : k.log())
    EXPECT_FALSE(contains(e, "force")) << e;
}

TEST_F(Load, ReversalThatStallsTooEndsNotReverted) {
  add_sleeper(200);
  // Switched to the new code at once and then went to sleep in it: cannot go back.
  FakeKernel::Task t{300, 300, "in_new_code", {}, 0};
  t.stuck_unpatching = true;
  k.add_task(t);
  opts.wait.timeout_ms = 5000;
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::NotReverted);
  EXPECT_TRUE(k.module_loaded("kpg_a"));
  EXPECT_FALSE(k.logged("delete kpg_a"));
  ASSERT_FALSE(r.errors.empty());
  EXPECT_TRUE(contains(r.errors.back(), "NOT back to its previous state"));
  EXPECT_TRUE(contains(r.errors.back(), "in_new_code"));
}

TEST_F(Load, ForceAfterForcesTheTransitionAndWarns) {
  add_sleeper();
  opts.wait.timeout_ms = 10000;
  opts.wait.force_after_ms = 2000;
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Forced);
  EXPECT_TRUE(k.logged("forced kpg_a"));
  EXPECT_TRUE(k.patch_enabled("kpg_a"));
  EXPECT_FALSE(k.in_transition());
  EXPECT_TRUE(rep.any_warning_contains("forcing the patching transition"));
  EXPECT_TRUE(rep.any_warning_contains("without the consistency check"));
}

TEST_F(Load, ForcedReplacePinsTheReplacedModules) {
  k.preload("kpg_old");
  add_sleeper();
  opts.wait.force_after_ms = 2000;
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Forced);
  EXPECT_FALSE(k.patch_present("kpg_old"));
  EXPECT_TRUE(k.module_loaded("kpg_old")); // the kernel kept its reference: never removable
  EXPECT_FALSE(k.logged("delete kpg_old"));
  EXPECT_TRUE(rep.any_warning_contains("(kpg_old) can never be removed"));
}

TEST_F(Load, RefusedWhenAnotherTransitionRuns) {
  FakeKernel::Task t{200, 200, "busy", {}, 0};
  t.stuck_patching = true;
  k.add_task(t);
  ASSERT_EQ(k.load_module(mod("kpg_busy"), ""), 0); // someone else's load, still in transition
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Refused);
  EXPECT_TRUE(contains(r.errors[0], "kpg_busy is still in its patching transition"));
  EXPECT_FALSE(k.logged("finit kpg_a"));
}

TEST_F(Load, RefusedWhenAlreadyLoaded) {
  k.preload("kpg_a");
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Refused);
  EXPECT_TRUE(contains(r.errors[0], "already loaded"));
  EXPECT_FALSE(k.logged("finit kpg_a"));
}

TEST_F(Load, RefusedModuleIsNeverLoaded) {
  std::string ko = build_module(mods.path(), "kpg_a", with(good_modinfo("kpg_a"), "kpg_target_build_id", std::string(40, 'f')));
  OpResult r = load_module(host, rep, &store, ko, opts);
  EXPECT_EQ(r.code, ExitCode::Refused);
  EXPECT_TRUE(contains(r.errors[0], "not loaded"));
  EXPECT_TRUE(k.log().empty());
}

TEST_F(Load, InactiveModuleOfTheSameNameIsRemovedFirst) {
  k.preload("kpg_a");
  k.preload("kpg_b"); // replace-mode: kpg_a is now replaced, its module inert
  ASSERT_FALSE(k.patch_present("kpg_a"));
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Ok);
  ASSERT_NE(k.log_index("delete kpg_a"), std::string::npos);
  EXPECT_LT(k.log_index("delete kpg_a"), k.log_index("finit kpg_a"));
}

TEST_F(Load, FinitModuleErrorIsExplained) {
  FakeKernel::PatchDef def;
  def.load_errno = EINVAL;
  k.define_patch("kpg_a", def);
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Error);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "finit_module failed: EINVAL"));
  EXPECT_TRUE(contains(r.errors[0], "klp_enable_patch() rejected the patch"));
  EXPECT_FALSE(store.loaded_record("kpg_a"));
}

TEST_F(Load, ReplacePatchRemovesTheReplacedModule) {
  k.preload("kpg_a");
  OpResult r = load("kpg_b");
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_EQ(r.replaced, (std::vector<std::string>{"kpg_a"}));
  EXPECT_TRUE(k.logged("delete kpg_a"));
  EXPECT_FALSE(k.module_loaded("kpg_a"));
}

TEST_F(Load, KeepReplacedLeavesTheReplacedModuleLoaded) {
  k.preload("kpg_a");
  opts.keep_replaced = true;
  OpResult r = load("kpg_b");
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_EQ(r.replaced, (std::vector<std::string>{"kpg_a"}));
  EXPECT_TRUE(k.module_loaded("kpg_a"));
}

TEST_F(Load, NonReplacePatchLeavesOtherPatchesActive) {
  FakeKernel::PatchDef def;
  def.replace = false;
  k.define_patch("kpg_b", def);
  k.preload("kpg_a");
  OpResult r = load("kpg_b");
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_TRUE(r.replaced.empty());
  EXPECT_TRUE(k.patch_enabled("kpg_a"));
}

TEST_F(Load, GarbageInEnabledStopsWithoutActing) {
  add_sleeper();
  k.at(1500, [&] { k.write_tree_file("/sys/kernel/livepatch/kpg_a/enabled", "banana\n"); });
  opts.wait.timeout_ms = 10000;
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Error);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_TRUE(contains(r.errors[0], "kpg_a/enabled contains 'banana', expected 0 or 1"));
  EXPECT_FALSE(k.logged("write kpg_a enabled 0"));
  EXPECT_TRUE(k.module_loaded("kpg_a"));
}

TEST_F(Load, MissingTransitionFileIsReported) {
  add_sleeper();
  k.at(1500, [&] { k.remove_tree("/sys/kernel/livepatch/kpg_a/transition"); });
  opts.wait.timeout_ms = 10000;
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors[0], "kpg_a/transition"));
  EXPECT_TRUE(contains(r.errors[0], "ENOENT"));
}

TEST_F(Load, BrieflyGarbledEnabledIsTolerated) {
  k.add_task({100, 100, "worker", {}, 2500});
  k.at(500, [&] { k.write_tree_file("/sys/kernel/livepatch/kpg_a/enabled", "\n"); });
  k.at(700, [&] { k.write_tree_file("/sys/kernel/livepatch/kpg_a/enabled", "1\n"); });
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Ok) << (r.errors.empty() ? "" : r.errors[0]);
}

TEST_F(Load, PatchDirectoryVanishingMidLoadIsReported) {
  add_sleeper();
  k.at(1500, [&] { k.remove_tree("/sys/kernel/livepatch/kpg_a"); });
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors[0], "disappeared while patching"));
}

TEST_F(Load, ReversalBySomeoneElseIsReported) {
  add_sleeper();
  // Keeps the foreign reversal in transition long enough for us to see enabled flip.
  FakeKernel::Task t{300, 300, "in_new_code", {}, 0};
  t.stuck_unpatching = true;
  k.add_task(t);
  k.at(1500, [&] { EXPECT_EQ(k.write_attr("/sys/kernel/livepatch/kpg_a/enabled", "0"), 0); });
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors[0], "enabled flipped to 0 during the transition: someone reversed it"));
}

TEST_F(Load, ForeignReversalThatCompletesShowsAsVanished) {
  add_sleeper();
  k.at(1500, [&] { EXPECT_EQ(k.write_attr("/sys/kernel/livepatch/kpg_a/enabled", "0"), 0); });
  OpResult r = load("kpg_a");
  EXPECT_EQ(r.code, ExitCode::Error);
  EXPECT_TRUE(contains(r.errors[0], "disabled or replaced by someone else"));
}

TEST(Tasks, PendingTasksIgnoreUndefinedState) {
  TaskScan scan;
  scan.tasks = {{1, 1, kUndefined}, {2, 2, kUnpatched}, {3, 3, kPatched}};
  std::vector<TaskRef> p = pending_tasks(scan, kPatched);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].tid, 2);
  ASSERT_EQ(pending_tasks(scan, kUnpatched).size(), 1u);
  EXPECT_EQ(pending_tasks(scan, kUnpatched)[0].tid, 3);
}

TEST(Tasks, StackFrameFunctionStripsAddressOffsetAndModule) {
  EXPECT_EQ(stack_frame_function(kStack0), "kpg_stall_sleep");
  EXPECT_EQ(stack_frame_function("  schedule+0x3d/0xa0"), "schedule");
  EXPECT_EQ(stack_frame_function("[<0>]"), "");
}

TEST(Tasks, ThreadsOfAllProcessesAreScanned) {
  TempDir t;
  FakeKernel k(t.path());
  k.add_task({500, 500, "main", {}, 0});
  k.add_task({500, 501, "helper", {}, 0});
  k.write_tree_file("/proc/self/task/1/patch_state", "0\n"); // non-numeric pid dirs are skipped
  TaskScan scan = scan_tasks(k);
  std::vector<i32> tids;
  for (const TaskRef &r : scan.tasks)
    tids.push_back(r.tid);
  std::sort(tids.begin(), tids.end());
  EXPECT_EQ(tids, (std::vector<i32>{1, 2, 500, 501}));
}

} // namespace
} // namespace kpg::load::test
