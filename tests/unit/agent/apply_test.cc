// SPDX-License-Identifier: GPL-2.0-only
// check / apply / run / rollback / pin against the simulated kernel: levels go live through
// the loader, replace each other atomically, and the policy is honoured.
#include <gtest/gtest.h>

#include <chrono>
#include <fcntl.h>
#include <future>
#include <sys/file.h>
#include <unistd.h>

#include "agent_fixture.h"
#include "install.h"
#include "loader.h"

namespace kpg::agent::test {
namespace {

using Agent = AgentTest;

TEST_F(Agent, CheckSaysWhatWouldBeAppliedAndChangesNothing) {
  publish("lp_l1", {.cves = {"CVE-2026-0001:7.5"}});
  Result r = check();
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  ASSERT_EQ(r.report.levels.size(), 1u);
  EXPECT_EQ(r.report.decision.chosen, 1u);
  EXPECT_EQ(r.report.decision.summary, "level 1 should be applied (installed: no level)");
  EXPECT_FALSE(k.module_loaded("lp_l1"));
  EXPECT_TRUE(installed_stack().empty());
}

TEST_F(Agent, ApplyLoadsAndInstallsLevelOne) {
  publish("lp_l1");
  Result r = apply();
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  EXPECT_EQ(r.report.applied, 1u);
  EXPECT_TRUE(k.patch_enabled("lp_l1"));
  EXPECT_EQ(installed_stack(), std::vector<std::string>{"lp_l1"});
  EXPECT_EQ(state().builds.at(build_key(load::test::kRelease, load::test::kBuildId)).modules.at(1), "lp_l1");
  // The download was only a way through: nothing is left in the state directory.
  EXPECT_FALSE(k.exists("/var/lib/kpatch-gen/agent/downloads/lp_l1.ko"));
}

TEST_F(Agent, LevelTwoReplacesLevelOneAtomically) {
  publish("lp_l1");
  ASSERT_EQ(apply().code, Exit::Ok);
  publish("lp_l2");
  Result r = run();
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  EXPECT_EQ(r.report.applied, 2u);
  EXPECT_TRUE(k.patch_enabled("lp_l2"));
  EXPECT_FALSE(k.patch_present("lp_l1")); // replaced in the same transition...
  EXPECT_FALSE(k.module_loaded("lp_l1")); // ...and its module removed
  EXPECT_EQ(installed_stack(), (std::vector<std::string>{"lp_l1", "lp_l2"}));
  // One patching transition, for lp_l2: no unpatching of lp_l1 in between.
  EXPECT_FALSE(k.logged("complete lp_l1 0"));
}

TEST_F(Agent, RunWithNothingNewChangesNothing) {
  publish("lp_l1");
  ASSERT_EQ(apply().code, Exit::Ok);
  fetcher.urls.clear();
  Result r = run();
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  EXPECT_FALSE(r.report.applied);
  EXPECT_EQ(fetcher.urls.size(), 2u); // next root version (absent) and timestamp.json
}

TEST_F(Agent, AutoUpdateOffRunOnlyReports) {
  cfg.auto_update = false;
  publish("lp_l1");
  Result r = run();
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  EXPECT_FALSE(k.module_loaded("lp_l1"));
  EXPECT_TRUE(load::test::any_contains(rep.notes, "auto_update is off: level 1 is not applied; `kpatch-agent apply` installs it"));
  // apply installs regardless.
  ASSERT_EQ(apply().code, Exit::Ok);
  EXPECT_TRUE(k.patch_enabled("lp_l1"));
}

TEST_F(Agent, MinCvssWaitsForASevereFix) {
  cfg.min_cvss10 = 70;
  publish("lp_l1", {.cves = {"CVE-2026-0001:5.0"}});
  Result r = run();
  ASSERT_EQ(r.code, Exit::Ok);
  EXPECT_FALSE(r.report.decision.chosen);
  EXPECT_FALSE(k.module_loaded("lp_l1"));
  publish("lp_l2", {.cves = {"CVE-2026-0002:8.1"}});
  r = run();
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  EXPECT_EQ(r.report.applied, 2u);
  // Level 2 is cumulative: it carries level 1's 5.0 fix too.
  ASSERT_EQ(r.report.levels.front().cves.size(), 2u);
  EXPECT_EQ(r.report.levels.front().cves[0].since, 1u);
}

TEST_F(Agent, FollowsOnlyItsChannelUntilALevelIsPromoted) {
  publish("lp_l1");
  ASSERT_EQ(apply().code, Exit::Ok);
  publish("lp_l2", {.channels = {"dev"}});
  Result r = run();
  ASSERT_EQ(r.code, Exit::Ok);
  EXPECT_FALSE(r.report.applied);
  EXPECT_TRUE(k.patch_enabled("lp_l1"));
  ASSERT_TRUE(repo::set_channel(*repo, 2, "", "stable", true, kT0));
  r = run();
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  EXPECT_EQ(r.report.applied, 2u);
}

TEST_F(Agent, APinHoldsALevelAndCanGoDown) {
  publish("lp_l1");
  publish("lp_l2");
  cfg.pin = 1;
  ASSERT_EQ(run().code, Exit::Ok);
  EXPECT_TRUE(k.patch_enabled("lp_l1"));
  EXPECT_FALSE(k.module_loaded("lp_l2"));
  cfg.pin.reset();
  ASSERT_EQ(run().code, Exit::Ok);
  EXPECT_TRUE(k.patch_enabled("lp_l2"));
  cfg.pin = 1;
  fetcher.urls.clear();
  Result r = run();
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  EXPECT_EQ(r.report.applied, 1u);
  EXPECT_TRUE(k.patch_enabled("lp_l1"));
  EXPECT_FALSE(k.patch_present("lp_l2"));
  // Level 1 came from its installed copy, and the stack keeps increasing levels: level 2 is
  // off it, so that the boot loads level 1 and a rollback goes below it.
  EXPECT_TRUE(std::none_of(fetcher.urls.begin(), fetcher.urls.end(), [](auto &u) { return u.ends_with("lp_l1.ko"); }));
  EXPECT_EQ(installed_stack(), std::vector<std::string>{"lp_l1"});
}

TEST_F(Agent, RollbackReturnsToThePreviousLevelAndDoesNotReapplyIt) {
  publish("lp_l1");
  publish("lp_l2");
  cfg.pin = 1;
  ASSERT_EQ(run().code, Exit::Ok);
  cfg.pin.reset();
  ASSERT_EQ(run().code, Exit::Ok);
  ASSERT_TRUE(k.patch_enabled("lp_l2"));
  Result r = rollback();
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  EXPECT_TRUE(k.patch_enabled("lp_l1"));
  EXPECT_FALSE(k.patch_present("lp_l2"));
  EXPECT_EQ(installed_stack(), std::vector<std::string>{"lp_l1"});
  EXPECT_EQ(state().builds.begin()->second.rolled_back, std::set<u32>{2});
  // The next poll leaves level 1 alone...
  r = run();
  ASSERT_EQ(r.code, Exit::Ok);
  EXPECT_FALSE(r.report.applied);
  EXPECT_TRUE(k.patch_enabled("lp_l1"));
  // ...until a newer level is published.
  publish("lp_l3");
  r = run();
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  EXPECT_EQ(r.report.applied, 3u);
}

TEST_F(Agent, RollbackFromTheOnlyLevelUnloadsIt) {
  publish("lp_l1");
  ASSERT_EQ(apply().code, Exit::Ok);
  ASSERT_EQ(rollback().code, Exit::Ok);
  EXPECT_FALSE(k.module_loaded("lp_l1"));
  EXPECT_TRUE(installed_stack().empty());
}

TEST_F(Agent, RollbackRefusesWhilePinnedToTheInstalledLevel) {
  publish("lp_l1");
  cfg.pin = 1;
  ASSERT_EQ(apply().code, Exit::Ok);
  Result r = rollback();
  EXPECT_EQ(r.code, Exit::Error);
  EXPECT_NE(errors(r).find("pinned to level 1"), std::string::npos);
  EXPECT_TRUE(k.patch_enabled("lp_l1"));
}

TEST_F(Agent, RunLoadsAnInstalledLevelThatIsNotLive) {
  publish("lp_l1");
  ASSERT_EQ(apply().code, Exit::Ok);
  load::test::RecordingReporter quiet;
  load::LoadOptions o;
  ASSERT_EQ(load::unload_patch(host, quiet, nullptr, "lp_l1", o).code, load::ExitCode::Ok);
  ASSERT_FALSE(k.module_loaded("lp_l1"));
  ASSERT_EQ(run().code, Exit::Ok);
  EXPECT_TRUE(k.patch_enabled("lp_l1"));
}

TEST_F(Agent, RunHonoursTheDisableSwitchOnTheCommandLine) {
  publish("lp_l1");
  ASSERT_EQ(apply().code, Exit::Ok);
  load::test::RecordingReporter quiet;
  load::LoadOptions o;
  ASSERT_EQ(load::unload_patch(host, quiet, nullptr, "lp_l1", o).code, load::ExitCode::Ok);
  k.write_tree_file("/proc/cmdline", "console=ttyS0 kpatch_gen.disable\n");
  ASSERT_EQ(run().code, Exit::Ok);
  EXPECT_FALSE(k.module_loaded("lp_l1"));
}

TEST_F(Agent, PinAndUnpinRewriteTheConfiguration) {
  k.write_tree_file(kDefaultConfigPath, "# fleet A\nrepository = file:///srv/repo\npin = none\n");
  Context c = ctx();
  ASSERT_EQ(set_pin(c, 4).code, Exit::Ok);
  EXPECT_EQ(*k.read(kDefaultConfigPath), "# fleet A\nrepository = file:///srv/repo\npin = 4\n");
  ASSERT_EQ(set_pin(c, std::nullopt).code, Exit::Ok);
  EXPECT_EQ(*k.read(kDefaultConfigPath), "# fleet A\nrepository = file:///srv/repo\npin = none\n");
}

TEST_F(Agent, StatusShowsTheInstalledLevelAndWhatTheLastPollSaw) {
  publish("lp_l1", {.cves = {"CVE-2026-0001:9.8"}});
  ASSERT_EQ(apply().code, Exit::Ok);
  Context c = ctx();
  auto j = status_json(c);
  EXPECT_EQ(j["installed"]["level"], 1);
  EXPECT_EQ(j["installed"]["module"], "lp_l1");
  EXPECT_EQ(j["installed"]["live"], true);
  ASSERT_EQ(j["levels"].size(), 1u);
  EXPECT_EQ(j["levels"][0]["cves"][0]["severity"], "CRITICAL");
  EXPECT_EQ(j["last_poll"]["result"], "ok");
  EXPECT_TRUE(j["backoff"].is_null());
  std::string text = format_status(j);
  EXPECT_NE(text.find("installed:    level 1 (lp_l1), live"), std::string::npos) << text;
}

// The timer's poll holds the state lock from before the load until its state is written:
// a status in between saw the new level live but not recorded ("not installed by
// kpatch-agent"). Status waits for the poll instead.
TEST_F(Agent, StatusWaitsForARunningPollToFinish) {
  publish("lp_l1");
  ASSERT_EQ(apply().code, Exit::Ok);
  const std::string lock = k.host_path(cfg.state_dir + "/lock");
  int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << lock;
  ASSERT_EQ(::flock(fd, LOCK_EX), 0); // a poll is running
  auto status = std::async(std::launch::async, [&] {
    Context c = ctx();
    return status_json(c);
  });
  EXPECT_EQ(status.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  ::close(fd); // the poll ends
  ASSERT_EQ(status.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(status.get()["installed"]["level"], 1);
}

TEST_F(Agent, StatusBeforeAnyPollCreatesNothing) {
  Context c = ctx();
  auto j = status_json(c);
  EXPECT_TRUE(j["installed"].is_null());
  EXPECT_FALSE(k.exists(cfg.state_dir + "/lock"));
}

TEST_F(Agent, LevelsOfOtherKernelBuildsAreIgnored) {
  publish("lp_l1");
  patchrepo::Level other; // the same release, another build of it
  other.release = load::test::kRelease;
  other.build_id = "ffffffffffffffffffffffffffffffffffffffff";
  other.level = 1;
  other.module = "lp_other";
  other.channels = {"stable"};
  ASSERT_TRUE(repo->add_target(patchrepo::level_target_path(other.release, other.build_id, 1, "lp_other"),
                               std::vector<u8>{1, 2, 3}, patchrepo::level_custom(other)));
  ASSERT_TRUE(repo->publish(kT0));
  Result r = check();
  ASSERT_EQ(r.code, Exit::Ok);
  ASSERT_EQ(r.report.levels.size(), 1u);
  EXPECT_EQ(r.report.levels[0].module, "lp_l1");
}

} // namespace
} // namespace kpg::agent::test
