// SPDX-License-Identifier: GPL-2.0-only
// The kpatch-load binary itself: exit codes and --root, on a fake tree (no kernel involved:
// every case here stops before a syscall would be made).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "test_util.h"

namespace kpg::load::test {
namespace {

struct CliRun {
  int code = -1;
  std::string out;
};

CliRun run(const std::string &args, const std::string &env = "") {
  CliRun r;
  std::string cmd = env + (env.empty() ? "" : " ") + std::string(KPATCH_LOAD_BIN) + " " + args + " 2>&1";
  FILE *p = ::popen(cmd.c_str(), "r");
  if (!p)
    return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

TEST(Cli, UsageErrorExitsTwo) {
  CliRun r = run("load");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "give either MODULE or --installed"));
  EXPECT_EQ(run("frobnicate").code, 2);
}

TEST(Cli, HelpListsExitCodes) {
  CliRun r = run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(contains(r.out, "4  the transition timed out and was reversed"));
}

TEST(Cli, RefusesNonLivepatchWithExitThree) {
  TempDir tree, mods;
  FakeKernel k(tree.path());
  std::string ko = build_module(mods.path(), "plain", with(good_modinfo("plain"), "livepatch", std::nullopt));
  CliRun r = run("--root " + tree.path() + " load " + ko);
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_TRUE(contains(r.out, ko + ": .modinfo has no livepatch=Y: not a livepatch module; not loaded"));
}

TEST(Cli, RootFromEnvironmentIsUsed) {
  TempDir tree;
  FakeKernel k(tree.path());
  k.preload("kpg_a");
  CliRun r = run("list", "KPATCH_LOAD_ROOT=" + tree.path());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "kpg_a"));
  EXPECT_TRUE(contains(r.out, "enabled"));
}

TEST(Cli, StatusJsonOnFakeTree) {
  TempDir tree;
  FakeKernel k(tree.path());
  k.preload("kpg_a");
  CliRun r = run("--root " + tree.path() + " status --json");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "\"release\": \"" + kRelease + "\""));
  EXPECT_TRUE(contains(r.out, "\"name\": \"cmdline_proc_show\""));
}

TEST(Cli, UnloadOfUnknownPatchExitsOne) {
  TempDir tree;
  FakeKernel k(tree.path());
  CliRun r = run("--root " + tree.path() + " unload kpg_nope");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "kpg_nope: no such livepatch is loaded"));
}

} // namespace
} // namespace kpg::load::test
