// SPDX-License-Identifier: GPL-2.0-only
// A machine (the loader's simulated kernel, below a temp root) following a patch repository
// (written by kpatch-gen's publisher library in another temp dir), and helpers to publish
// levels of fake modules built for that kernel.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent.h"
#include "fake_kernel.h"
#include "repo/publish.h"
#include "test_util.h"
#include "tuf/files.h"
#include "tuf/repository.h"

namespace kpg::agent::test {

using load::test::FakeKernel;
using load::test::RecordingReporter;

inline constexpr i64 kT0 = 1767225600; // 2026-01-01T00:00:00Z

class TestFetcher final : public tuf::Fetcher {
public:
  tuf::FetchResult fetch(const std::string &url, u64 max_length) override;
  std::vector<std::string> urls;
  std::map<std::string, std::function<tuf::FetchResult(const std::string &, u64)>> overrides; // by URL suffix
  tuf::FileFetcher files;
};

struct LevelSpec {
  std::vector<std::string> cves = {};     // "CVE-2026-0001:7.5"
  std::vector<std::string> channels = {}; // default: stable
  std::vector<std::string> modinfo = {};  // default: good_modinfo(module)
};

struct AgentTest : ::testing::Test {
  load::test::TempDir tree, work;
  FakeKernel k{tree.path()};
  load::Host host{k, k, k};
  RecordingReporter rep;
  TestFetcher fetcher;
  std::optional<tuf::Repository> repo;
  AgentConfig cfg;
  i64 now = kT0 + 60;

  void SetUp() override;
  Context ctx();
  Result check() { Context c = ctx(); return agent::check(c); }
  Result apply() { Context c = ctx(); return agent::apply(c); }
  Result run() { Context c = ctx(); return agent::run(c); }
  Result rollback() { Context c = ctx(); return agent::rollback(c); }

  // Builds a fake module `module` for the simulated kernel, writes its build report, and
  // publishes it as the next level. Returns the level.
  patchrepo::Level publish(const std::string &module, const LevelSpec &spec = {});
  std::string target_file(const patchrepo::Level &l) const; // its file in the repository
  std::string repo_dir() const { return work.path() + "/repo"; }

  // What the loader's installed stack holds, oldest first.
  std::vector<std::string> installed_stack();
  AgentState state();
  std::string errors(const Result &r) const;
};

} // namespace kpg::agent::test
