// SPDX-License-Identifier: GPL-2.0-only
// The client workflow against a repository that lies, replays, withholds or breaks: every
// check of the specification's section 5, one test each.
#include <gtest/gtest.h>

#include "tuf_fixture.h"

namespace kpg::tuf::test {
namespace {

struct Attack : TufTest {
  void SetUp() override {
    TufTest::SetUp();
    target = publish_target("6.1/b/1/m.ko", "the real module");
  }
  // Refreshes and expects a failure of `code` whose message contains `what`.
  void expect_refresh_fails(const std::string &code, const std::string &what, i64 now = kT0 + 60) {
    Updater u = updater(now);
    auto r = u.refresh();
    ASSERT_FALSE(r) << "refresh succeeded; expected: " << what;
    EXPECT_EQ(r.error().code, code) << r.error().str();
    EXPECT_NE(r.error().str().find(what), std::string::npos) << r.error().str();
  }
  std::string target_file() const {
    return repo_dir + "/targets/6.1/b/1/" + target.hashes.at("sha256") + ".m.ko";
  }
  TargetFile target;
};

TEST_F(Attack, ATamperedTargetIsRejected) {
  write(target_file(), "the fake module"); // same length, other bytes
  Updater u = updater();
  ASSERT_TRUE(u.refresh());
  auto data = u.download_target(target);
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code, kRejected);
  EXPECT_NE(data.error().message.find("6.1/b/1/m.ko sha256 is"), std::string::npos) << data.error().message;
}

TEST_F(Attack, ATargetOfAnotherLengthIsRejected) {
  write(target_file(), "short");
  Updater u = updater();
  ASSERT_TRUE(u.refresh());
  auto data = u.download_target(target);
  ASSERT_FALSE(data);
  EXPECT_NE(data.error().message.find("5 bytes, but the targets metadata lists 15"), std::string::npos)
      << data.error().message;
}

TEST_F(Attack, ALongerTargetIsCutOffAtItsListedLength) {
  write(target_file(), "the real module, and then some endless data");
  Updater u = updater();
  ASSERT_TRUE(u.refresh());
  auto data = u.download_target(target);
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code, kRejected);
  EXPECT_NE(data.error().message.find("longer than the 15 bytes"), std::string::npos) << data.error().message;
}

TEST_F(Attack, TamperedTargetsMetadataIsRejected) {
  std::string name = std::to_string(repo->targets().version) + ".targets.json";
  std::string t = read(md(name));
  t.replace(t.find("test"), 4, "TEST"); // inside the target's custom metadata
  write(md(name), t);
  expect_refresh_fails(kRejected, "differs from the");
}

TEST_F(Attack, TargetsMetadataWithoutHashesInSnapshotIsCheckedBySignature) {
  // A snapshot without length/hashes for targets.json: then the signature is what catches it.
  json sn = signed_of(std::to_string(repo->snapshot().version) + ".snapshot.json");
  u64 tv = repo->targets().version;
  sn["meta"]["targets.json"] = {{"version", tv}};
  sn["version"] = repo->snapshot().version + 1;
  forge(std::to_string(repo->snapshot().version + 1) + ".snapshot.json", sn, "snapshot");
  json ts = signed_of("timestamp.json");
  ts["version"] = repo->timestamp().version + 1;
  ts["meta"]["snapshot.json"] = {{"version", repo->snapshot().version + 1}};
  forge("timestamp.json", ts, "timestamp");
  std::string t = read(md(std::to_string(tv) + ".targets.json"));
  t.replace(t.find("test"), 4, "TEST");
  write(md(std::to_string(tv) + ".targets.json"), t);
  expect_refresh_fails(kRejected, "targets role: valid signatures of 0 of the 1");
}

TEST_F(Attack, MetadataSignedWithAnotherKeyIsRejected) {
  auto wrong = Ed25519Key::generate();
  ASSERT_TRUE(wrong);
  json ts = signed_of("timestamp.json");
  ts["version"] = repo->timestamp().version + 1;
  // Signed under the real keyid, with a key that is not the one the root names.
  auto file = sign_metadata(ts, {{repo->root().roles.at("timestamp").keyids[0], &*wrong}});
  ASSERT_TRUE(file);
  write(md("timestamp.json"), *file);
  expect_refresh_fails(kRejected, "timestamp role: valid signatures of 0 of the 1 required key(s)");
}

TEST_F(Attack, AnExpiredTimestampIsRejected) {
  expect_refresh_fails(kRejected, "the timestamp metadata expired at 2026-01-02T00:00:00Z", kT0 + 86400);
}

TEST_F(Attack, AnExpiredSnapshotIsRejected) {
  repo->set_period("snapshot", 100);
  publish_target("x.ko", "x");
  expect_refresh_fails(kRejected, "the snapshot metadata expired", kT0 + 200);
}

TEST_F(Attack, AnExpiredTargetsIsRejected) {
  repo->set_period("targets", 100);
  publish_target("x.ko", "x");
  expect_refresh_fails(kRejected, "the targets metadata expired", kT0 + 200);
}

TEST_F(Attack, AnOlderTimestampIsRejected) {
  const std::string old = read(md("timestamp.json"));
  publish_target("x.ko", "x");
  ASSERT_TRUE(updater().refresh());
  write(md("timestamp.json"), old); // a replay of the previous version
  expect_refresh_fails(kRejected, "is older than the trusted version");
}

TEST_F(Attack, ATimestampNamingAnOlderSnapshotIsRejected) {
  ASSERT_TRUE(updater().refresh());
  json ts = signed_of("timestamp.json");
  ts["version"] = repo->timestamp().version + 1;
  ts["meta"]["snapshot.json"] = {{"version", repo->snapshot().version - 1}};
  forge("timestamp.json", ts, "timestamp");
  expect_refresh_fails(kRejected, "older than the trusted");
}

TEST_F(Attack, ASnapshotListingAnOlderTargetsVersionIsRejected) {
  ASSERT_TRUE(updater().refresh());
  const u64 sv = repo->snapshot().version + 1;
  json sn = signed_of(std::to_string(repo->snapshot().version) + ".snapshot.json");
  sn["version"] = sv;
  sn["meta"]["targets.json"] = {{"version", repo->targets().version - 1}};
  forge(std::to_string(sv) + ".snapshot.json", sn, "snapshot");
  json ts = signed_of("timestamp.json");
  ts["version"] = repo->timestamp().version + 1;
  ts["meta"]["snapshot.json"] = {{"version", sv}};
  forge("timestamp.json", ts, "timestamp");
  expect_refresh_fails(kRejected, "lists targets.json version 1, older than the trusted 2 (rollback attack)");
}

TEST_F(Attack, ASnapshotOfAnotherVersionThanTheTimestampSaysIsRejected) {
  // Mix and match: the file named 3.snapshot.json holds version 2.
  const u64 sv = repo->snapshot().version;
  write(md(std::to_string(sv + 1) + ".snapshot.json"), read(md(std::to_string(sv) + ".snapshot.json")));
  json ts = signed_of("timestamp.json");
  ts["version"] = repo->timestamp().version + 1;
  ts["meta"]["snapshot.json"] = {{"version", sv + 1}};
  forge("timestamp.json", ts, "timestamp");
  expect_refresh_fails(kRejected, "mix-and-match");
}

TEST_F(Attack, ARootSignedOnlyByTheNewKeyIsRejected) {
  auto fresh = Ed25519Key::generate();
  ASSERT_TRUE(fresh);
  Key pub = make_ed25519_key(*fresh);
  std::string id = compute_keyid(pub);
  Root next = repo->root();
  next.version = 2;
  next.keys[id] = pub;
  next.roles["root"].keyids = {id};
  auto file = sign_metadata(to_json(next), {{id, &*fresh}});
  ASSERT_TRUE(file);
  write(md("2.root.json"), *file);
  expect_refresh_fails(kRejected, "root (by the trusted root's keys) role: valid signatures of 0 of the 1");
}

TEST_F(Attack, ARootNotSignedByItsOwnNewKeyIsRejected) {
  auto fresh = Ed25519Key::generate();
  ASSERT_TRUE(fresh);
  Key pub = make_ed25519_key(*fresh);
  std::string id = compute_keyid(pub);
  Root next = repo->root();
  next.version = 2;
  next.keys[id] = pub;
  next.roles["root"].keyids = {id};
  forge("2.root.json", to_json(next), "root"); // the old key only
  expect_refresh_fails(kRejected, "root (by its own keys) role: valid signatures of 0 of the 1");
}

TEST_F(Attack, ARootThatSkipsAVersionIsRejected) {
  Root next = repo->root();
  next.version = 3;
  forge("2.root.json", to_json(next), "root");
  expect_refresh_fails(kRejected, "version 3 where 2 was expected");
}

TEST_F(Attack, AnExpiredFinalRootIsRejected) {
  expect_refresh_fails(kRejected, "the root metadata expired", kT0 + 366 * 86400);
}

TEST_F(Attack, AFailureOtherThanNotFoundInTheRootLoopAborts) {
  fetcher.overrides["/2.root.json"] = [](const std::string &, u64) {
    return FetchResult{FetchStatus::Failed, {}, "HTTP 502"};
  };
  expect_refresh_fails(kFetchFailed, "2.root.json: HTTP 502");
}

TEST_F(Attack, AnUnreachableRepositoryIsAFetchFailure) {
  fetcher.overrides["/timestamp.json"] = [](const std::string &, u64) {
    return FetchResult{FetchStatus::Failed, {}, "Connection refused"};
  };
  expect_refresh_fails(kFetchFailed, "timestamp.json: Connection refused");
}

TEST_F(Attack, AnEndlessTimestampIsCutOffAndRejected) {
  fetcher.overrides["/timestamp.json"] = [](const std::string &, u64 max) {
    EXPECT_EQ(max, 16384u);
    return FetchResult{FetchStatus::TooLarge, std::vector<u8>(max, 'x'), ""};
  };
  expect_refresh_fails(kRejected, "larger than the 16384 bytes");
}

TEST_F(Attack, ARejectedRefreshKeepsThePreviouslyTrustedFiles) {
  ASSERT_TRUE(updater().refresh());
  const std::string trusted = read(client_dir + "/timestamp.json");
  json ts = signed_of("timestamp.json");
  ts["version"] = repo->timestamp().version + 1;
  ts["expires"] = "2020-01-01T00:00:00Z";
  forge("timestamp.json", ts, "timestamp");
  expect_refresh_fails(kRejected, "expired");
  EXPECT_EQ(read(client_dir + "/timestamp.json"), trusted);
}

struct FailingStore final : LocalStore {
  DirStore inner;
  explicit FailingStore(std::string dir) : inner(std::move(dir)) {}
  std::optional<std::string> read(const std::string &n) override { return inner.read(n); }
  Expected<void> write(const std::string &n, const std::string &) override {
    return make_error(Location(n), "cannot write: No space left on device");
  }
  Expected<void> remove(const std::string &n) override { return inner.remove(n); }
};

TEST_F(Attack, AFullDiskIsALocalFailure) {
  FailingStore full(client_dir);
  Updater u(fetcher, full, "file://" + repo_dir + "/metadata", "file://" + repo_dir + "/targets", kT0 + 60);
  auto r = u.refresh();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, kLocal);
  EXPECT_NE(r.error().str().find("No space left on device"), std::string::npos);
}

} // namespace
} // namespace kpg::tuf::test
