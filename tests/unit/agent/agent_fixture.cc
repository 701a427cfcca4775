// SPDX-License-Identifier: GPL-2.0-only
#include "agent_fixture.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "store.h"
#include "tuf/crypto.h"

namespace kpg::agent::test {

tuf::FetchResult TestFetcher::fetch(const std::string &url, u64 max_length) {
  urls.push_back(url);
  for (auto &[suffix, fn] : overrides)
    if (url.ends_with(suffix))
      return fn(url, max_length);
  return files.fetch(url, max_length);
}

void AgentTest::SetUp() {
  auto r = tuf::Repository::init(repo_dir(), work.path() + "/keys", tuf::InitOptions{}, kT0);
  ASSERT_TRUE(r) << r.error().str();
  repo.emplace(std::move(*r));
  cfg.repository = "file://" + repo_dir();
  cfg.metadata_url = cfg.repository + "/metadata";
  cfg.targets_url = cfg.repository + "/targets";
  cfg.retries = 0;
  cfg.retry_delay_ms = 1000;
  cfg.transition_timeout = 10;
  // The trusted root, as `kpatch-agent install` puts it.
  std::ifstream in(repo_dir() + "/metadata/1.root.json");
  std::stringstream ss;
  ss << in.rdbuf();
  k.write_tree_file(cfg.trusted_root, ss.str());
}

Context AgentTest::ctx() { return Context{host, rep, fetcher, cfg, kDefaultConfigPath, "/var/lib/kpatch-gen", now}; }

patchrepo::Level AgentTest::publish(const std::string &module, const LevelSpec &spec) {
  std::string mods = work.path() + "/modules";
  std::filesystem::create_directories(mods);
  std::string ko = load::test::build_module(mods, module, spec.modinfo.empty() ? load::test::good_modinfo(module) : spec.modinfo);
  std::ifstream in(ko, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json cvss = nlohmann::json::object();
  std::vector<std::string> ids;
  for (const std::string &s : spec.cves) {
    auto c = patchrepo::parse_cve_spec(s);
    EXPECT_TRUE(c) << s;
    ids.push_back(c->id);
    if (c->score10)
      cvss[c->id] = {{"score", c->score_text()}, {"severity", c->severity()}};
  }
  nlohmann::json report = {{"format", "kpatch-gen-module/1"},
                           {"name", module},
                           {"replace", true},
                           {"description", "test level " + module},
                           {"cves", ids},
                           {"cvss", cvss},
                           {"target", {{"release", load::test::kRelease}, {"build_id", load::test::kBuildId}}},
                           {"sha256", tuf::sha256_hex(bytes)}};
  std::ofstream(mods + "/" + module + ".json") << report.dump(2);
  auto rep_parsed = repo::read_module_report(mods + "/" + module + ".json");
  EXPECT_TRUE(rep_parsed) << rep_parsed.error().str();
  repo::AddOptions o;
  o.channels = spec.channels;
  auto l = repo::add_level(*repo, ko, *rep_parsed, o, kT0);
  EXPECT_TRUE(l) << l.error().str();
  return *l;
}

std::string AgentTest::target_file(const patchrepo::Level &l) const {
  std::string dir = l.target_path.substr(0, l.target_path.rfind('/'));
  return repo_dir() + "/targets/" + dir + "/" + l.sha256 + "." + l.module + ".ko";
}

std::vector<std::string> AgentTest::installed_stack() {
  load::Store s(k, "/var/lib/kpatch-gen", load::test::kRelease, "3f1c2a9e-boot-1");
  std::vector<std::string> out;
  auto st = s.read_installed();
  EXPECT_TRUE(st);
  for (const load::InstalledPatch &p : st->stack)
    out.push_back(p.name);
  return out;
}

AgentState AgentTest::state() {
  auto st = read_state(k, cfg.state_dir);
  EXPECT_TRUE(st);
  return *st;
}

std::string AgentTest::errors(const Result &r) const { return fmt::format("{}", fmt::join(r.errors, "\n")); }

} // namespace kpg::agent::test
