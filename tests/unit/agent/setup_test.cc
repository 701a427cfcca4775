// SPDX-License-Identifier: GPL-2.0-only
// `kpatch-agent install` (configuration, trusted root, systemd units) and the binary's
// command line on a fake root.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "agent_fixture.h"
#include "agent_setup.h"

namespace kpg::agent::test {
namespace {

using Install = AgentTest;

SetupOptions options(const AgentTest &t) {
  SetupOptions o;
  o.cfg.repository = "https://patches.example/repo";
  o.cfg.channel = "test";
  o.cfg.interval = 1800;
  o.root_file = t.repo_dir() + "/metadata/1.root.json";
  o.exec_path = "/usr/sbin/kpatch-agent";
  o.start_now = false;
  return o;
}

TEST_F(Install, WritesConfigurationRootAndUnitsAndEnablesTheTimer) {
  k.remove_tree("/etc/kpatch-gen");
  Context c = ctx();
  Result r = setup(c, options(*this));
  ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  auto conf = parse_config(*k.read(kDefaultConfigPath), "agent.conf");
  ASSERT_TRUE(conf) << conf.error().message;
  EXPECT_EQ(conf->repository, "https://patches.example/repo");
  EXPECT_EQ(conf->channel, "test");
  std::ifstream in(repo_dir() + "/metadata/1.root.json");
  std::string root((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(*k.read("/etc/kpatch-gen/root.json"), root);
  std::string service = *k.read("/etc/systemd/system/kpatch-agent.service");
  EXPECT_NE(service.find("\nExecStart=/usr/sbin/kpatch-agent run\n"), std::string::npos) << service;
  EXPECT_NE(service.find("Type=oneshot"), std::string::npos);
  std::string timer = *k.read("/etc/systemd/system/kpatch-agent.timer");
  EXPECT_NE(timer.find("\nOnUnitActiveSec=30m\n"), std::string::npos) << timer;
  std::string link = tree.path() + "/etc/systemd/system/timers.target.wants/kpatch-agent.timer";
  ASSERT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(std::filesystem::read_symlink(link), "../kpatch-agent.timer");
}

// The default interval keeps the unit file's first-poll delay, random delay and accuracy.
TEST(TimerUnit, DefaultIntervalKeepsTheUnitFileDelays) {
  std::string t = timer_unit(6 * 3600);
  EXPECT_NE(t.find("\nOnUnitActiveSec=6h\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nOnBootSec=5m\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nRandomizedDelaySec=15m\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nAccuracySec=1m\n"), std::string::npos) << t;
}

// A short interval caps them: with 10 s the first poll must not wait 5 to 20 minutes.
TEST(TimerUnit, ShortIntervalCapsFirstPollRandomDelayAndAccuracy) {
  std::string t = timer_unit(10);
  EXPECT_NE(t.find("\nOnUnitActiveSec=10s\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nOnBootSec=10s\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nRandomizedDelaySec=1s\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nAccuracySec=1s\n"), std::string::npos) << t;
  std::string five = timer_unit(5);
  EXPECT_NE(five.find("\nRandomizedDelaySec=0\n"), std::string::npos) << five;
}

TEST_F(Install, KeepsAnExistingConfigurationUnlessForced) {
  k.write_tree_file(kDefaultConfigPath, "repository = file:///mine\n");
  Context c = ctx();
  ASSERT_EQ(setup(c, options(*this)).code, Exit::Ok);
  EXPECT_EQ(*k.read(kDefaultConfigPath), "repository = file:///mine\n");
  SetupOptions o = options(*this);
  o.force = true;
  ASSERT_EQ(setup(c, o).code, Exit::Ok);
  EXPECT_NE(k.read(kDefaultConfigPath)->find("repository = https://patches.example/repo"), std::string::npos);
}

TEST_F(Install, RefusesARootThatIsNotASignedTufRoot) {
  std::string bad = work.path() + "/bad-root.json";
  std::ofstream(bad) << R"({"signed": {"_type": "root"}, "signatures": []})";
  SetupOptions o = options(*this);
  o.root_file = bad;
  Context c = ctx();
  Result r = setup(c, o);
  EXPECT_EQ(r.code, Exit::Usage);
  EXPECT_NE(errors(r).find("not a TUF root metadata file"), std::string::npos) << errors(r);
}

struct CliRun {
  int code = -1;
  std::string out;
};

CliRun cli(const std::string &args) {
  CliRun r;
  FILE *p = ::popen((std::string(KPATCH_AGENT_BIN) + " " + args + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The binary reads the real clock: re-sign the repository (made at kT0) now.
void resign_now(tuf::Repository &r) { ASSERT_TRUE(r.refresh(static_cast<i64>(std::time(nullptr)), true)); }

TEST_F(Install, TheBinaryChecksARepositoryOnAFakeRoot) {
  publish("lp_l1", {.cves = {"CVE-2026-0001:7.5"}});
  resign_now(*repo);
  k.write_tree_file(kDefaultConfigPath, "repository = file://" + repo_dir() + "\n");
  CliRun r = cli("--root " + tree.path() + " check");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("level 1 should be applied (installed: no level)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-> newer level, fixes CVE-2026-0001 (7.5 HIGH)"), std::string::npos) << r.out;
}

TEST_F(Install, TheBinaryExitsThreeOnRejectedMetadata) {
  publish("lp_l1");
  resign_now(*repo);
  k.write_tree_file(kDefaultConfigPath, "repository = file://" + repo_dir() + "\n");
  std::filesystem::resize_file(repo_dir() + "/metadata/timestamp.json", 10);
  CliRun r = cli("--root " + tree.path() + " -q run");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("error: repository metadata rejected:"), std::string::npos) << r.out;
}

TEST_F(Install, TheBinaryExitsSixWhenTheRepositoryIsUnreachable) {
  k.write_tree_file(kDefaultConfigPath, "repository = http://127.0.0.1:9\nretries = 0\n");
  CliRun r = cli("--root " + tree.path() + " -q run");
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("repository unreachable: http://127.0.0.1:9/metadata/2.root.json:"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out; // one line
}

TEST_F(Install, TheBinaryRefusesAnUnknownConfigurationKey) {
  k.write_tree_file(kDefaultConfigPath, "repository = x\nauto_updates = off\n");
  CliRun r = cli("--root " + tree.path() + " check");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("agent.conf:2: unknown key \"auto_updates\""), std::string::npos) << r.out;
}

TEST_F(Install, HelpListsTheExitCodes) {
  CliRun r = cli("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("6  repository unreachable"), std::string::npos);
  EXPECT_NE(r.out.find("with min_cvss = 7.0 a level is applied when it fixes at least one CVE"), std::string::npos);
}

} // namespace
} // namespace kpg::agent::test
