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

// n_gsm.c not built in this kernel, cmdline.c changed: the module is built for cmdline.c.
TEST(BuildOutcome, UnitsNotBuiltLeaveTheOutcomeToTheOthers) {
  EXPECT_EQ(outcome_of({UnitOutcome::NotBuilt, UnitOutcome::Changed}), BuildOutcome::Built);
  EXPECT_EQ(outcome_of({UnitOutcome::NotBuilt, UnitOutcome::NoChange}), BuildOutcome::NoChange);
  EXPECT_EQ(outcome_of({UnitOutcome::NotBuilt, UnitOutcome::Refused}), BuildOutcome::Refused);
}

TEST(BuildOutcome, NoUnitBuiltInThisKernelIsNotBuilt) {
  EXPECT_EQ(outcome_of({UnitOutcome::NotBuilt, UnitOutcome::NotBuilt}), BuildOutcome::NotBuilt);
}

// Compiling stops at the first error: the other units are still pending, and the build's
// outcome is the compile error, not an internal error.
TEST(BuildOutcome, ACompileErrorIsTheOutcomeWhateverTheOtherUnits) {
  EXPECT_EQ(outcome_of({UnitOutcome::Pending, UnitOutcome::CompileError}), BuildOutcome::CompileError);
  EXPECT_EQ(outcome_of({UnitOutcome::CompileError, UnitOutcome::NotBuilt}), BuildOutcome::CompileError);
}

TEST(BuildResultJson, NotBuiltUnitHasItsCodeAndReason) {
  BuildRequest r;
  r.quiet = true;
  Build b(r);
  UnitResult u = unit("drivers/tty/n_gsm.c", UnitOutcome::NotBuilt);
  u.unit.not_built = "CONFIG_N_GSM is not set; drivers/tty/Makefile: obj-$(CONFIG_N_GSM) += n_gsm.o";
  b.units.push_back(u);
  b.units.push_back(unit("fs/proc/cmdline.c", UnitOutcome::Changed));
  b.outcome = BuildOutcome::NotBuilt;
  nlohmann::json j = build_result_json(b);
  EXPECT_EQ(j["result"], "not-built");
  ASSERT_EQ(j["units"].size(), 2u);
  EXPECT_EQ(j["units"][0]["result"], "not-built");
  EXPECT_EQ(j["units"][0]["code"], "NOT_BUILT");
  EXPECT_EQ(j["units"][0]["reason"], u.unit.not_built);
  EXPECT_FALSE(j["units"][1].contains("code"));
}

TEST(BuildResultJson, CompileErrorHasFileLineAndTheUnit) {
  BuildRequest r;
  r.quiet = true;
  Build b(r);
  b.units.push_back(unit("fs/proc/cmdline.c", UnitOutcome::CompileError));
  b.units.push_back(unit("fs/proc/meminfo.c", UnitOutcome::Pending));
  b.compile_error = CompileError{"fs/proc/cmdline.o", "fs/proc/cmdline.c", 6, 10,
                                 "fatal error: linux/nope.h: No such file or directory", "", "/w/compile.log"};
  b.outcome = BuildOutcome::CompileError;
  nlohmann::json j = build_result_json(b);
  EXPECT_EQ(j["result"], "compile-error");
  EXPECT_EQ(j["compile_error"]["object"], "fs/proc/cmdline.o");
  EXPECT_EQ(j["compile_error"]["file"], "fs/proc/cmdline.c");
  EXPECT_EQ(j["compile_error"]["line"], 6);
  EXPECT_EQ(j["compile_error"]["column"], 10);
  EXPECT_EQ(j["units"][0]["result"], "compile-error");
  EXPECT_EQ(j["units"][1]["result"], "pending");
}

// A module's symbols come from its unstripped copy; the .ko the kernel loads is recorded too.
TEST(BuildResultJson, ModuleResolvedInItsDebugCopyRecordsTheShippedKo) {
  BuildRequest r;
  r.quiet = true;
  Build b(r);
  TargetObject t;
  t.name = "binfmt_misc";
  t.path = "/dbg/usr/lib/debug/lib/modules/6.1.0-1-amd64/kernel/fs/binfmt_misc.ko";
  t.shipped = "/img/lib/modules/6.1.0-1-amd64/kernel/fs/binfmt_misc.ko";
  UnitResult u = unit("fs/binfmt_misc.c", UnitOutcome::Changed);
  u.unit.objname = "binfmt_misc";
  u.target = &t;
  b.units.push_back(u);
  nlohmann::json j = build_result_json(b);
  EXPECT_EQ(j["units"][0]["target"], t.path);
  EXPECT_EQ(j["units"][0]["shipped"], t.shipped);
  t.shipped = t.path;
  EXPECT_FALSE(build_result_json(b)["units"][0].contains("shipped"));
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
