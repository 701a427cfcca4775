// SPDX-License-Identifier: GPL-2.0-only
// The policy: which level a machine should run, one rule per test.
#include <gtest/gtest.h>

#include "policy.h"

namespace kpg::agent {
namespace {

using patchrepo::Cve;
using patchrepo::Level;

Level level(u32 n, std::vector<Cve> cves, std::vector<std::string> channels = {"stable"}) {
  Level l;
  l.level = n;
  l.module = "lp_" + std::to_string(n);
  l.cves = std::move(cves);
  l.channels = std::move(channels);
  return l;
}

Cve cve(const char *id, std::optional<u32> score, u32 since) { return Cve{id, score, since}; }

// Levels are cumulative: 1 fixes A (5.0); 2 adds B (9.8); 3 adds C (4.0).
PolicyInput three_levels() {
  PolicyInput in;
  in.channel = "stable";
  in.levels = {level(1, {cve("CVE-2026-0001", 50, 1)}),
               level(2, {cve("CVE-2026-0001", 50, 1), cve("CVE-2026-0002", 98, 2)}),
               level(3, {cve("CVE-2026-0001", 50, 1), cve("CVE-2026-0002", 98, 2), cve("CVE-2026-0003", 40, 3)})};
  return in;
}

TEST(Policy, ChoosesTheNewestLevel) {
  Decision d = decide(three_levels());
  EXPECT_EQ(d.chosen, 3u);
  EXPECT_EQ(d.summary, "level 3 should be applied (installed: no level)");
  ASSERT_EQ(d.levels.size(), 3u);
  EXPECT_EQ(d.levels[0].level, 3u); // newest first
}

TEST(Policy, NeverGoesDownByItself) {
  PolicyInput in = three_levels();
  in.installed = 3;
  Decision d = decide(in);
  EXPECT_FALSE(d.chosen);
  EXPECT_EQ(d.levels[1].why, "older than the installed level 3");
  EXPECT_EQ(d.summary, "up to date at level 3: no newer level in channel stable that the policy allows");
}

TEST(Policy, TakesOnlyLevelsOfItsChannel) {
  PolicyInput in = three_levels();
  in.levels[2].channels = {"dev", "test"};
  Decision d = decide(in);
  EXPECT_EQ(d.chosen, 2u);
  EXPECT_EQ(d.levels[0].why, "not in channel stable (in: dev, test)");
}

TEST(Policy, MinCvssNeedsASevereFixTheInstalledLevelLacks) {
  PolicyInput in = three_levels();
  in.min_cvss10 = 70;
  in.installed = 2;
  Decision d = decide(in); // level 3 only adds a 4.0
  EXPECT_FALSE(d.chosen);
  EXPECT_EQ(d.levels[0].why, "no fix with CVSS >= 7.0 that level 2 lacks");
}

TEST(Policy, MinCvssBringsLowerScoredFixesAlong) {
  PolicyInput in = three_levels();
  in.min_cvss10 = 70;
  in.installed = 1;
  Decision d = decide(in); // level 3 carries B (9.8) that level 1 lacks, and C comes along
  EXPECT_EQ(d.chosen, 3u);
  EXPECT_EQ(d.levels[0].why, "fixes CVE-2026-0002 (9.8 CRITICAL) (CVSS >= 7.0)");
  EXPECT_EQ(d.levels[0].new_fixes.size(), 2u);
}

TEST(Policy, MinCvssCountsUnscoredFixesAsNotSevere) {
  PolicyInput in;
  in.channel = "stable";
  in.min_cvss10 = 10;
  in.levels = {level(1, {cve("CVE-2026-0009", std::nullopt, 1)})};
  EXPECT_FALSE(decide(in).chosen);
}

TEST(Policy, SkipsAFailedLevelButTakesANewerOne) {
  PolicyInput in = three_levels();
  in.installed = 1;
  in.failed[3] = "its transition timed out and was reversed";
  Decision d = decide(in);
  EXPECT_EQ(d.chosen, 2u);
  EXPECT_EQ(d.levels[0].why, "failed before (its transition timed out and was reversed); waiting for a newer level");
  in.levels.push_back(level(4, {}));
  EXPECT_EQ(decide(in).chosen, 4u);
}

TEST(Policy, SkipsARolledBackLevel) {
  PolicyInput in = three_levels();
  in.installed = 2;
  in.rolled_back = {3};
  Decision d = decide(in);
  EXPECT_FALSE(d.chosen);
  EXPECT_EQ(d.levels[0].why, "rolled back by an administrator; waiting for a newer level");
}

TEST(Policy, APinChoosesExactlyThatLevelEvenBelowTheInstalledOne) {
  PolicyInput in = three_levels();
  in.installed = 3;
  in.pin = 1;
  in.min_cvss10 = 90; // does not apply to a pin
  in.levels[0].channels = {"dev"}; // nor does the channel
  Decision d = decide(in);
  EXPECT_EQ(d.chosen, 1u);
  EXPECT_EQ(d.levels[0].why, "pinned to level 1");
}

TEST(Policy, APinnedLevelThatIsInstalledIsUpToDate) {
  PolicyInput in = three_levels();
  in.installed = 2;
  in.pin = 2;
  Decision d = decide(in);
  EXPECT_FALSE(d.chosen);
  EXPECT_EQ(d.summary, "pinned to level 2: installed (pinned level)");
}

TEST(Policy, AFailedPinnedLevelIsRetriedOnlyOnRequest) {
  PolicyInput in = three_levels();
  in.pin = 2;
  in.failed[2] = "the kernel refused it";
  EXPECT_FALSE(decide(in).chosen);
  in.retry_failed_pin = true;
  EXPECT_EQ(decide(in).chosen, 2u);
}

TEST(Policy, APinToAnUnpublishedLevelChangesNothing) {
  PolicyInput in = three_levels();
  in.installed = 1;
  in.pin = 7;
  Decision d = decide(in);
  EXPECT_FALSE(d.chosen);
  EXPECT_EQ(d.summary, "pinned to level 7, which is not published for this kernel; staying at level 1");
}

TEST(Policy, NothingPublishedForThisKernel) {
  PolicyInput in;
  in.channel = "stable";
  EXPECT_EQ(decide(in).summary, "no patch level is published for this kernel; staying at no level");
}

} // namespace
} // namespace kpg::agent
