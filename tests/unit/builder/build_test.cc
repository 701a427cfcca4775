// SPDX-License-Identifier: GPL-2.0-only
// The builder's typed state: the build's outcome from its units, and the JSON made from it at
// the edges (the keys scripts read: result, refusals, units, moved_hunks).
#include <gtest/gtest.h>

#include "builder/build.h"

using namespace kpg;
using namespace kpg::build;

namespace {

UnitResult unit(const std::string &source, UnitOutcome o) {
  UnitResult u;
  u.unit.source = source;
  u.unit.object = source.substr(0, source.size() - 2) + ".o";
  u.unit.objname = "vmlinux";
  u.unit.why = "changed by the patch";
  u.outcome = o;
  return u;
}

BuildOutcome outcome_of(std::initializer_list<UnitOutcome> os) {
  std::vector<UnitResult> units;
  for (UnitOutcome o : os)
    units.push_back(unit("a.c", o));
  return build_outcome_of(units);
}

TEST(BuildOutcome, OneChangedUnitBuildsAModule) {
  EXPECT_EQ(outcome_of({UnitOutcome::NoChange, UnitOutcome::Changed}), BuildOutcome::Built);
}

TEST(BuildOutcome, NoUnitChangedIsNoChange) {
  EXPECT_EQ(outcome_of({UnitOutcome::NoChange, UnitOutcome::NoChange}), BuildOutcome::NoChange);
}

TEST(BuildOutcome, OneRefusedUnitRefusesTheBuild) {
  EXPECT_EQ(outcome_of({UnitOutcome::Changed, UnitOutcome::Refused}), BuildOutcome::Refused);
}

TEST(BuildOutcome, AUnitThatCouldNotBeDiffedIsAnErrorNotARefusal) {
  EXPECT_EQ(outcome_of({UnitOutcome::Refused, UnitOutcome::Failed}), BuildOutcome::Failed);
  EXPECT_EQ(outcome_of({UnitOutcome::Changed, UnitOutcome::Pending}), BuildOutcome::Failed);
}

TEST(BuildResultJson, RefusedBuildListsEachRefusalWithItsUnit) {
  BuildRequest r;
  r.quiet = true;
  Build b(r);
  b.diag.set_quiet(true);
  UnitResult u = unit("fs/proc/cmdline.c", UnitOutcome::Refused);
  u.diff.refusals.push_back({"INIT_CHANGED", Location("fs/proc/cmdline.o"), "f is __init"});
  b.units.push_back(u);
  b.units.push_back(unit("fs/proc/meminfo.c", UnitOutcome::Changed));
  b.diag.error(Location(), "the patch cannot be live patched");
  b.outcome = BuildOutcome::Refused;
  nlohmann::json j = build_result_json(b);
  EXPECT_EQ(j["format"], "kpatch-gen-build-result/1");
  EXPECT_EQ(j["result"], "refused");
  ASSERT_EQ(j["refusals"].size(), 1u);
  EXPECT_EQ(j["refusals"][0]["unit"], "fs/proc/cmdline.c");
  EXPECT_EQ(j["refusals"][0]["code"], "INIT_CHANGED");
  EXPECT_EQ(j["refusals"][0]["message"], "f is __init");
  ASSERT_EQ(j["units"].size(), 2u);
  EXPECT_EQ(j["units"][0]["result"], "refused");
  EXPECT_EQ(j["units"][1]["result"], "changed");
  EXPECT_NE(j["error"].get<std::string>().find("cannot be live patched"), std::string::npos);
  EXPECT_FALSE(j.contains("output"));
}

TEST(BuildResultJson, MovedHunksAreListed) {
  BuildRequest r;
  r.quiet = true;
  Build b(r);
  b.moved_hunks.push_back({"/p/x.patch", "fs/proc/cmdline.c", 2, "@@ -5,7 +5,8 @@", 9, 4, 1});
  nlohmann::json j = build_result_json(b);
  ASSERT_EQ(j["moved_hunks"].size(), 1u);
  const nlohmann::json &h = j["moved_hunks"][0];
  EXPECT_EQ(h["patch"], "x.patch");
  EXPECT_EQ(h["file"], "fs/proc/cmdline.c");
  EXPECT_EQ(h["hunk"], 2);
  EXPECT_EQ(h["line"], 9);
  EXPECT_EQ(h["offset"], 4);
  EXPECT_EQ(h["fuzz"], 1);
  EXPECT_EQ(module_report_json(b)["moved_hunks"], j["moved_hunks"]);
}

TEST(BuildResultJson, CveScoresGoToCvssAndCvesWithoutScoreAreNotListed) {
  BuildRequest r;
  r.quiet = true;
  r.cves = {{"CVE-2024-1086", "7.8", "HIGH"}, {"CVE-2023-0001", "", ""}};
  Build b(r);
  nlohmann::json j = module_report_json(b);
  EXPECT_EQ(j["cvss"], nlohmann::json::parse(R"({"CVE-2024-1086": {"score": "7.8", "severity": "HIGH"}})"));
}

} // namespace
