// SPDX-License-Identifier: GPL-2.0-only
// list / status: what a snapshot contains and the JSON shape tools may rely on.
#include <gtest/gtest.h>

#include "install.h"
#include "status.h"
#include "test_util.h"

namespace kpg::load::test {
namespace {

struct Status : LoaderTest {};

// 6.11 added <patch>/replace; 6.1 has none, and status says null rather than guessing.
TEST_F(Status, ReplaceAttributeShownWhereTheKernelHasIt) {
  k.replace_attr = true;
  FakeKernel::PatchDef def;
  def.replace = false;
  k.define_patch("kpg_a", def);
  ASSERT_EQ(load_module(host, rep, &store, mod("kpg_a"), opts).code, ExitCode::Ok);
  Snapshot s = take_snapshot(host, &store);
  EXPECT_EQ(snapshot_json(s)["patches"][0]["replace"], false);
  EXPECT_NE(format_status(s).find("kpg_a: enabled (not replacing)"), std::string::npos) << format_status(s);
}

TEST_F(Status, ReplaceIsNullOnKernelsWithoutTheAttribute) {
  k.define_patch("kpg_a", {});
  ASSERT_EQ(load_module(host, rep, &store, mod("kpg_a"), opts).code, ExitCode::Ok);
  Snapshot s = take_snapshot(host, &store);
  EXPECT_TRUE(snapshot_json(s)["patches"][0]["replace"].is_null());
  EXPECT_NE(format_status(s).find("kpg_a: enabled\n"), std::string::npos) << format_status(s);
}

TEST_F(Status, JsonShape) {
  FakeKernel::PatchDef def;
  def.objs = {{"vmlinux", {{"cmdline_proc_show", 1}}}, {"kpg_stall_target", {{"kpg_stall_sleep", 2}}}};
  k.define_patch("kpg_a", def);
  ASSERT_EQ(load_module(host, rep, &store, mod("kpg_a"), opts).code, ExitCode::Ok);
  auto j = snapshot_json(take_snapshot(host, &store));
  EXPECT_EQ(j["kernel"]["release"], kRelease);
  EXPECT_EQ(j["kernel"]["build_id"], kBuildId);
  ASSERT_EQ(j["patches"].size(), 1u);
  const auto &p = j["patches"][0];
  EXPECT_EQ(p["name"], "kpg_a");
  EXPECT_EQ(p["state"], "enabled");
  EXPECT_EQ(p["enabled"], true);
  EXPECT_EQ(p["transition"], false);
  EXPECT_EQ(p["refcnt"], 1);
  EXPECT_EQ(p["target_kernel"]["release"], kRelease);
  EXPECT_EQ(p["target_kernel"]["build_id"], kBuildId);
  EXPECT_TRUE(p["loaded_from"].is_string());
  ASSERT_EQ(p["objects"].size(), 2u);
  EXPECT_EQ(p["objects"][0]["name"], "kpg_stall_target");
  EXPECT_EQ(p["objects"][0]["functions"][0]["name"], "kpg_stall_sleep");
  EXPECT_EQ(p["objects"][0]["functions"][0]["sympos"], 2);
  EXPECT_EQ(p["objects"][1]["name"], "vmlinux");
  EXPECT_EQ(p["objects"][1]["patched"], true);
  EXPECT_TRUE(p["pending_tasks"].is_array());
  EXPECT_TRUE(p["pending_tasks"].empty());
  EXPECT_TRUE(j["inactive_modules"].is_array());
  EXPECT_TRUE(j["installed"]["boot_patch"].is_null());
}

TEST_F(Status, TransitionListsPendingTasks) {
  FakeKernel::Task t{200, 200, "kpg_sleeper", {}, 0};
  t.stuck_patching = true;
  k.add_task(t);
  ASSERT_EQ(k.load_module(mod("kpg_a"), ""), 0);
  auto j = snapshot_json(take_snapshot(host, &store));
  const auto &p = j["patches"][0];
  EXPECT_EQ(p["state"], "patching");
  ASSERT_EQ(p["pending_tasks"].size(), 1u);
  EXPECT_EQ(p["pending_tasks"][0]["pid"], 200);
  EXPECT_EQ(p["pending_tasks"][0]["comm"], "kpg_sleeper");
  EXPECT_TRUE(contains(format_status(take_snapshot(host, &store)), "tasks not yet switched: 1"));
}

TEST_F(Status, UnreadablePatchStatesMakePendingUnknown) {
  FakeKernel::Task t{200, 200, "kpg_sleeper", {}, 0};
  t.stuck_patching = true;
  k.add_task(t);
  ASSERT_EQ(k.load_module(mod("kpg_a"), ""), 0);
  // What a non-root reader gets from the 0400 files, simulated with unparsable content.
  for (i32 tid : {1, 2, 200})
    k.write_tree_file("/proc/" + std::to_string(tid) + "/task/" + std::to_string(tid) + "/patch_state", "?\n");
  Snapshot s = take_snapshot(host, &store);
  auto j = snapshot_json(s);
  EXPECT_TRUE(j["patches"][0]["pending_tasks"].is_null());
  EXPECT_TRUE(contains(j["patches"][0]["pending_problem"].get<std::string>(), "patch_state contains '?'"));
  EXPECT_TRUE(contains(format_status(s), "tasks not yet switched: unknown"));
}

TEST_F(Status, TargetKernelUnknownWithoutRecord) {
  k.preload("kpg_a"); // loaded by someone else
  auto j = snapshot_json(take_snapshot(host, &store));
  EXPECT_TRUE(j["patches"][0]["target_kernel"].is_null());
  EXPECT_TRUE(contains(format_list(take_snapshot(host, &store)), "target kernel: unknown"));
}

TEST_F(Status, RecordFromAnotherBootIsIgnored) {
  ASSERT_EQ(load_module(host, rep, &store, mod("kpg_a"), opts).code, ExitCode::Ok);
  Store after_reboot{k, "/var/lib/kpatch-gen", kRelease, "another-boot"};
  auto j = snapshot_json(take_snapshot(host, &after_reboot));
  EXPECT_TRUE(j["patches"][0]["target_kernel"].is_null());
}

TEST_F(Status, ReplacedModuleShowsAsInactive) {
  k.preload("kpg_a");
  k.preload("kpg_b");
  Snapshot s = take_snapshot(host, &store);
  ASSERT_EQ(s.inactive.size(), 1u);
  EXPECT_EQ(s.inactive[0].first, "kpg_a");
  EXPECT_EQ(s.inactive[0].second, 0);
  EXPECT_TRUE(contains(format_list(s), "kpg_a"));
  EXPECT_TRUE(contains(format_list(s), "inactive"));
}

TEST_F(Status, InstalledStackAndBootPatchAreListed) {
  ASSERT_EQ(install_module(host, rep, store, mod("kpg_v1")).code, ExitCode::Ok);
  ASSERT_EQ(install_module(host, rep, store, mod("kpg_v2")).code, ExitCode::Ok);
  auto j = snapshot_json(take_snapshot(host, &store));
  ASSERT_EQ(j["installed"]["patches"].size(), 2u);
  EXPECT_EQ(j["installed"]["boot_patch"], "kpg_v2");
  EXPECT_TRUE(contains(format_list(take_snapshot(host, &store)), "kpg_v2                 installed"));
}

TEST_F(Status, GarbageStateShowsAsUnknownWithTheProblem) {
  k.preload("kpg_a");
  k.write_tree_file("/sys/kernel/livepatch/kpg_a/transition", "yes\n");
  auto j = snapshot_json(take_snapshot(host, &store));
  EXPECT_EQ(j["patches"][0]["state"], "unknown");
  EXPECT_TRUE(j["patches"][0]["transition"].is_null());
  EXPECT_TRUE(contains(j["patches"][0]["problem"].get<std::string>(), "transition contains 'yes'"));
}

TEST_F(Status, NoPatchesSaysSo) {
  EXPECT_EQ(format_list(take_snapshot(host, &store)), "no livepatches loaded\n");
}

} // namespace
} // namespace kpg::load::test
