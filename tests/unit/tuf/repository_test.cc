// SPDX-License-Identifier: GPL-2.0-only
// The publisher: layout, key directory, versions, refresh and key rotation.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>

#include "tuf_fixture.h"

namespace kpg::tuf::test {
namespace {

using Publisher = TufTest;
namespace fs = std::filesystem;

unsigned mode_of(const std::string &p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

TEST_F(Publisher, InitWritesTheTufLayoutAndPrivateKeysApart) {
  for (const char *f : {"1.root.json", "1.targets.json", "1.snapshot.json", "timestamp.json"})
    EXPECT_TRUE(fs::exists(md(f))) << f;
  EXPECT_FALSE(fs::exists(md("root.json"))); // clients never fetch an unversioned root
  EXPECT_EQ(mode_of(key_dir), 0700u);
  int pems = 0;
  for (const auto &e : fs::directory_iterator(key_dir))
    if (e.path().extension() == ".pem") {
      pems++;
      EXPECT_EQ(mode_of(e.path().string()), 0600u);
    }
  EXPECT_EQ(pems, 4);
  for (const auto &e : fs::recursive_directory_iterator(repo_dir))
    EXPECT_NE(e.path().extension(), ".pem") << e.path();
  EXPECT_TRUE(repo->root().consistent_snapshot);
  EXPECT_EQ(signed_of("1.root.json")["spec_version"], kSpecVersion);
}

TEST_F(Publisher, RefusesAKeyDirectoryInsideTheRepository) {
  kpg::test::TempDir t;
  auto r = Repository::init(t.file("repo"), t.file("repo/keys"), InitOptions{}, kT0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("a static server would publish the private keys"), std::string::npos);
}

TEST_F(Publisher, RefusesAKeyDirectoryOthersCanRead) {
  repo.reset(); // releases the lock
  ::chmod(key_dir.c_str(), 0755);
  auto r = Repository::open(repo_dir, key_dir);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("mode 755"), std::string::npos) << r.error().message;
}

TEST_F(Publisher, RefusesToInitTwice) {
  repo.reset();
  auto r = Repository::init(repo_dir, tmp.file("keys2"), InitOptions{}, kT0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("already a repository"), std::string::npos);
}

TEST_F(Publisher, StoresTargetsUnderTheirHashAndBumpsVersions) {
  TargetFile t = publish_target("6.1/x/1/m.ko", "abc");
  EXPECT_EQ(t.hashes.at("sha256"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(read(repo_dir + "/targets/6.1/x/1/" + t.hashes.at("sha256") + ".m.ko"), "abc");
  EXPECT_EQ(repo->targets().version, 2u);
  EXPECT_EQ(repo->snapshot().version, 2u);
  EXPECT_EQ(repo->timestamp().version, 2u);
  json ts = signed_of("timestamp.json");
  EXPECT_EQ(ts["meta"]["snapshot.json"]["version"], 2);
  EXPECT_EQ(ts["meta"]["snapshot.json"]["length"], read(md("2.snapshot.json")).size());
  EXPECT_EQ(ts["meta"]["snapshot.json"]["hashes"]["sha256"], sha256_hex(read(md("2.snapshot.json"))));
  // Older versions stay: a client in the middle of an update still finds them.
  EXPECT_TRUE(fs::exists(md("1.targets.json")));
}

TEST_F(Publisher, RefusesUnsafeTargetPaths) {
  for (const char *p : {"../x.ko", "/abs.ko", "a//b.ko", "a/./b.ko", "dir/", "sp ace.ko"})
    EXPECT_FALSE(repo->add_target(p, bytes("x"), json())) << p;
}

TEST_F(Publisher, OpenReadsBackTheCurrentState) {
  publish_target("a.ko", "x");
  repo.reset();
  auto r = Repository::open(repo_dir, key_dir);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(r->targets().version, 2u);
  EXPECT_EQ(r->targets().targets.count("a.ko"), 1u);
  ASSERT_TRUE(r->add_target("b.ko", bytes("y"), json()));
  ASSERT_TRUE(r->publish(kT0));
  EXPECT_EQ(r->targets().version, 3u);
  EXPECT_EQ(r->timestamp().version, 3u);
}

TEST_F(Publisher, RefreshResignsOnlyWhatIsDue) {
  // One day in, the 1-day timestamp has less than half its period left; the rest not.
  auto done = repo->refresh(kT0 + 13 * 3600, false);
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, std::vector<std::string>{"timestamp"});
  EXPECT_EQ(repo->snapshot().version, 1u);
  // Five days in: the 7-day snapshot too (and so the timestamp).
  done = repo->refresh(kT0 + 5 * 86400, false);
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, (std::vector<std::string>{"snapshot", "timestamp"}));
  auto forced = repo->refresh(kT0 + 5 * 86400, true);
  ASSERT_TRUE(forced);
  EXPECT_EQ(*forced, (std::vector<std::string>{"root", "targets", "snapshot", "timestamp"}));
  EXPECT_TRUE(fs::exists(md("2.root.json")));
  // A client that last looked before all of this follows the chain.
  Updater u = updater(kT0 + 5 * 86400 + 60);
  auto r = u.refresh();
  ASSERT_TRUE(r) << r.error().str();
}

TEST_F(Publisher, RotateKeyRetiresTheOldKey) {
  std::string old = repo->root().roles.at("snapshot").keyids[0];
  auto fresh = repo->rotate_key("snapshot", std::nullopt, kT0);
  ASSERT_TRUE(fresh) << fresh.error().str();
  EXPECT_FALSE(fs::exists(key_dir + "/" + old + ".pem"));
  EXPECT_TRUE(fs::exists(key_dir + "/retired/" + old + ".pem"));
  EXPECT_TRUE(fs::exists(key_dir + "/" + *fresh + ".pem"));
  EXPECT_EQ(repo->root().version, 2u);
  EXPECT_EQ(repo->root().keys.count(old), 0u);
  json r2 = json::parse(read(md("2.root.json")));
  EXPECT_EQ(r2["signatures"].size(), 1u); // root key unchanged: the same key signs as old and new
}

TEST_F(Publisher, ARootRotationIsSignedByOldAndNewRootKeys) {
  auto fresh = repo->rotate_key("root", std::nullopt, kT0);
  ASSERT_TRUE(fresh);
  json r2 = json::parse(read(md("2.root.json")));
  EXPECT_EQ(r2["signatures"].size(), 2u);
}

TEST_F(Publisher, ARootThresholdOfTwoNeedsTwoKeysToSign) {
  kpg::test::TempDir t;
  InitOptions o;
  o.root_keys = 3;
  o.root_threshold = 2;
  auto r = Repository::init(t.file("repo"), t.file("keys"), o, kT0);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(json::parse(read(t.file("repo/metadata/1.root.json")))["signatures"].size(), 3u);
  // With only one root key left in the key directory, no new root can be signed.
  std::vector<std::string> ids = r->root().roles.at("root").keyids;
  std::optional<Repository> closed(std::move(*r)); // releases the lock when reset
  closed.reset();
  fs::remove(t.file("keys/" + ids[0] + ".pem"));
  fs::remove(t.file("keys/" + ids[1] + ".pem"));
  auto reopened = Repository::open(t.file("repo"), t.file("keys"));
  ASSERT_TRUE(reopened) << reopened.error().str();
  auto rot = reopened->rotate_key("targets", std::nullopt, kT0);
  ASSERT_FALSE(rot);
  EXPECT_NE(rot.error().message.find("only 1 of the 2 root key(s)"), std::string::npos) << rot.error().message;
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parse_duration("30s"), 30);
  EXPECT_EQ(parse_duration("15m"), 900);
  EXPECT_EQ(parse_duration("6h"), 21600);
  EXPECT_EQ(parse_duration("7d"), 604800);
  EXPECT_FALSE(parse_duration("7"));
  EXPECT_FALSE(parse_duration("d"));
  EXPECT_FALSE(parse_duration("-1d"));
  EXPECT_FALSE(parse_duration("0s"));
}

} // namespace
} // namespace kpg::tuf::test
