// SPDX-License-Identifier: GPL-2.0-only
// agent.conf: parsing, refusals with line numbers, and rewriting one line.
#include <gtest/gtest.h>

#include "agent_config.h"

namespace kpg::agent {
namespace {

TEST(Config, ParsesEveryKey) {
  auto c = parse_config("# comment\nrepository = https://p.example/repo/\nchannel = test  # trailing\npin = 4\n"
                        "auto_update = off\nmin_cvss = 7.5\ninterval = 30m\ntransition_timeout = 90s\n",
                        "agent.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->repository, "https://p.example/repo");
  EXPECT_EQ(c->metadata_url, "https://p.example/repo/metadata");
  EXPECT_EQ(c->targets_url, "https://p.example/repo/targets");
  EXPECT_EQ(c->channel, "test");
  EXPECT_EQ(c->pin, 4u);
  EXPECT_FALSE(c->auto_update);
  EXPECT_EQ(c->min_cvss10, 75u);
  EXPECT_EQ(c->interval, 1800);
  EXPECT_EQ(c->transition_timeout, 90);
}

TEST(Config, DefaultsFollowTheIssue) {
  auto c = parse_config("repository = file:///srv/repo\n", "agent.conf");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->channel, "stable");
  EXPECT_FALSE(c->pin);
  EXPECT_TRUE(c->auto_update);
  EXPECT_EQ(c->min_cvss10, 0u);
  EXPECT_EQ(c->trusted_root, "/etc/kpatch-gen/root.json");
}

TEST(Config, ReportsEveryProblemWithItsLine) {
  auto c = parse_config("repository = x\nauto_updates = off\nmin_cvss = 11\npin = latest\n", "/etc/kpatch-gen/agent.conf");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "/etc/kpatch-gen/agent.conf:2: unknown key \"auto_updates\"\n"
                               "/etc/kpatch-gen/agent.conf:3: min_cvss: \"11\" is not a CVSS base score 0.0 to 10.0\n"
                               "/etc/kpatch-gen/agent.conf:4: pin: \"latest\" is neither a patch level (1, 2, ...) nor none");
}

TEST(Config, NeedsARepository) {
  auto c = parse_config("channel = stable\n", "agent.conf");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "agent.conf: no `repository = URL`");
}

TEST(Config, SetValueReplacesOnlyThatLine) {
  std::string text = "# my fleet\nrepository = x\npin = none   # for now\nchannel = stable\n";
  EXPECT_EQ(set_config_value(text, "pin", "3"), "# my fleet\nrepository = x\npin = 3\nchannel = stable\n");
  EXPECT_EQ(set_config_value("repository = x\n", "pin", "3"), "repository = x\npin = 3\n");
}

TEST(Config, TheInstalledFileParsesBack) {
  AgentConfig c;
  c.repository = "https://p.example/repo";
  c.pin = 2;
  c.min_cvss10 = 70;
  c.auto_update = false;
  auto back = parse_config(default_config_text(c), "agent.conf");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->pin, 2u);
  EXPECT_EQ(back->min_cvss10, 70u);
  EXPECT_FALSE(back->auto_update);
}

} // namespace
} // namespace kpg::agent
