// SPDX-License-Identifier: GPL-2.0-only
// The client workflow on a healthy repository: first contact, polls with nothing new, new
// targets, key and root rotations, delegations.
#include <gtest/gtest.h>

#include <filesystem>

#include "tuf_fixture.h"

namespace kpg::tuf::test {
namespace {

using Client = TufTest;

TEST_F(Client, FirstRefreshTrustsTheRepositoryAndDownloadsATarget) {
  TargetFile t = publish_target("6.1/a/1/m.ko", "module bytes");
  Updater u = updater();
  auto r = u.refresh();
  ASSERT_TRUE(r) << r.error().str();
  auto info = u.target_info("6.1/a/1/m.ko");
  ASSERT_TRUE(info);
  ASSERT_TRUE(*info);
  EXPECT_EQ((*info)->custom["note"], "test");
  auto data = u.download_target(**info);
  ASSERT_TRUE(data) << data.error().str();
  EXPECT_EQ(std::string(data->begin(), data->end()), "module bytes");
  // Consistent snapshots: the hash prefixes the basename, the directory is kept.
  EXPECT_TRUE(fetcher.urls.back().ends_with("/targets/6.1/a/1/" + t.hashes["sha256"] + ".m.ko"));
  // The trusted files are kept under unversioned names.
  for (const char *f : {"root.json", "timestamp.json", "snapshot.json", "targets.json"})
    EXPECT_TRUE(std::filesystem::exists(client_dir + "/" + f)) << f;
}

TEST_F(Client, APollWithNothingNewMakesTwoRequests) {
  publish_target("a.ko", "x");
  ASSERT_TRUE(updater().refresh());
  fetcher.urls.clear();
  Updater u = updater(kT0 + 120);
  ASSERT_TRUE(u.refresh());
  // The next root version (not there) and timestamp.json; snapshot and targets come from
  // the store because the timestamp names the versions already trusted.
  ASSERT_EQ(fetcher.urls.size(), 2u);
  EXPECT_TRUE(fetcher.urls[0].ends_with("/metadata/2.root.json"));
  EXPECT_TRUE(fetcher.urls[1].ends_with("/metadata/timestamp.json"));
  EXPECT_FALSE(u.stats().new_timestamp);
  EXPECT_EQ(u.targets().targets.count("a.ko"), 1u);
}

TEST_F(Client, ANewTargetIsSeenOnTheNextPoll) {
  publish_target("a.ko", "x");
  ASSERT_TRUE(updater().refresh());
  publish_target("b.ko", "y");
  fetcher.urls.clear();
  Updater u = updater();
  ASSERT_TRUE(u.refresh());
  EXPECT_TRUE(u.stats().new_snapshot && u.stats().new_targets);
  EXPECT_EQ(fetcher.urls.size(), 4u); // 2.root.json, timestamp, N.snapshot.json, N.targets.json
  EXPECT_TRUE(fetcher.urls[2].ends_with("/metadata/3.snapshot.json"));
  EXPECT_TRUE(fetcher.urls[3].ends_with("/metadata/3.targets.json"));
  EXPECT_EQ(u.targets().targets.size(), 2u);
}

TEST_F(Client, FollowsARootRotationSignedByOldAndNewKeys) {
  ASSERT_TRUE(updater().refresh());
  auto newid = repo->rotate_key("root", std::nullopt, kT0);
  ASSERT_TRUE(newid) << newid.error().str();
  Updater u = updater();
  ASSERT_TRUE(u.refresh());
  EXPECT_EQ(u.root().version, 2u);
  EXPECT_EQ(u.root().roles.at("root").keyids, std::vector<std::string>{*newid});
  EXPECT_EQ(u.stats().root_rotations, 1u);
  // The new root is persisted as the trusted one.
  EXPECT_EQ(read(client_dir + "/root.json"), read(md("2.root.json")));
}

TEST_F(Client, WalksSeveralRootVersionsInOneRefresh) {
  ASSERT_TRUE(updater().refresh());
  ASSERT_TRUE(repo->rotate_key("root", std::nullopt, kT0));
  ASSERT_TRUE(repo->rotate_key("root", std::nullopt, kT0));
  ASSERT_TRUE(repo->rotate_key("targets", std::nullopt, kT0));
  Updater u = updater();
  ASSERT_TRUE(u.refresh());
  EXPECT_EQ(u.root().version, 4u);
  EXPECT_EQ(u.stats().root_rotations, 3u);
}

TEST_F(Client, AnExpiredIntermediateRootDoesNotMatter) {
  ASSERT_TRUE(updater().refresh());
  repo->set_period("root", 100);
  ASSERT_TRUE(repo->rotate_key("root", std::nullopt, kT0)); // 2.root.json expires at kT0+100
  repo->set_period("root", 365 * 86400);
  ASSERT_TRUE(repo->rotate_key("root", std::nullopt, kT0 + 500));
  Updater u = updater(kT0 + 1000);
  auto r = u.refresh();
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(u.root().version, 3u);
}

TEST_F(Client, AcceptsMetadataSignedWithARotatedTargetsKey) {
  publish_target("a.ko", "x");
  ASSERT_TRUE(updater().refresh());
  ASSERT_TRUE(repo->rotate_key("targets", std::nullopt, kT0));
  publish_target("b.ko", "y");
  Updater u = updater();
  auto r = u.refresh();
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(u.targets().targets.size(), 2u);
}

TEST_F(Client, RecoversFromAFastForwardedTimestampAfterATimestampKeyRotation) {
  // An attacker holding the timestamp key serves version 1000; the client trusts it.
  ASSERT_TRUE(updater().refresh());
  json ts = signed_of("timestamp.json");
  ts["version"] = 1000;
  const std::string honest = read(md("timestamp.json"));
  forge("timestamp.json", ts, "timestamp");
  ASSERT_TRUE(updater().refresh());
  write(md("timestamp.json"), honest);
  // Without a rotation, the honest (lower) version is a rollback.
  auto before = updater().refresh();
  ASSERT_FALSE(before);
  EXPECT_NE(before.error().message.find("older than the trusted version 1000"), std::string::npos);
  // The publisher rotates the timestamp key: the client drops the fast-forwarded file.
  ASSERT_TRUE(repo->rotate_key("timestamp", std::nullopt, kT0));
  Updater u = updater();
  auto after = u.refresh();
  ASSERT_TRUE(after) << after.error().str();
  EXPECT_TRUE(u.stats().fast_forward_recovery);
  EXPECT_LT(u.timestamp().version, 1000u);
}

TEST_F(Client, RecoversFromAFastForwardedSnapshotAfterASnapshotKeyRotation) {
  ASSERT_TRUE(updater().refresh());
  // Attacker with the snapshot and timestamp keys: snapshot 1000, a timestamp naming it.
  json sn = signed_of(std::to_string(repo->snapshot().version) + ".snapshot.json");
  sn["version"] = 1000;
  forge("1000.snapshot.json", sn, "snapshot");
  json ts = signed_of("timestamp.json");
  ts["version"] = 1000;
  ts["meta"]["snapshot.json"] = {{"version", 1000}};
  const std::string honest = read(md("timestamp.json"));
  forge("timestamp.json", ts, "timestamp");
  ASSERT_TRUE(updater().refresh());
  write(md("timestamp.json"), honest);
  auto before = updater().refresh();
  ASSERT_FALSE(before); // the honest timestamp names an older snapshot: a rollback
  // Rotating the snapshot key alone makes the client drop both cached files (5.3.11).
  ASSERT_TRUE(repo->rotate_key("snapshot", std::nullopt, kT0));
  Updater u = updater();
  auto r = u.refresh();
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_TRUE(u.stats().fast_forward_recovery);
  EXPECT_LT(u.snapshot().version, 1000u);
  EXPECT_LT(u.timestamp().version, 1000u);
}

TEST_F(Client, ASnapshotKeyRotationAloneDropsTheCachedSnapshot) {
  ASSERT_TRUE(updater().refresh());
  ASSERT_TRUE(repo->rotate_key("snapshot", std::nullopt, kT0));
  Updater u = updater();
  ASSERT_TRUE(u.refresh());
  EXPECT_TRUE(u.stats().fast_forward_recovery);
  EXPECT_TRUE(u.stats().new_snapshot);
}

TEST_F(Client, FindsATargetThroughADelegation) {
  // targets delegates "x86_64/*" to role x86_64, which lists the target.
  auto k = Ed25519Key::generate();
  ASSERT_TRUE(k);
  Key pub = make_ed25519_key(*k);
  std::string id = compute_keyid(pub);
  const std::string blob = "delegated module";
  ASSERT_TRUE(repo->add_target("top.ko", bytes("t"), json()));
  ASSERT_TRUE(repo->publish(kT0));
  // Write the delegated role and a targets/snapshot/timestamp that reference it by hand.
  Targets del;
  del.type = "targets";
  del.expires = kT0 + 86400;
  TargetFile tf;
  tf.path = "x86_64/d.ko";
  tf.length = blob.size();
  tf.hashes["sha256"] = sha256_hex(blob);
  del.targets[tf.path] = tf;
  write(repo_dir + "/targets/x86_64/" + tf.hashes["sha256"] + ".d.ko", blob);
  auto del_file = sign_metadata(to_json(del), {{id, &*k}});
  ASSERT_TRUE(del_file);
  write(md("1.x86_64.json"), *del_file);
  json tj = signed_of(std::to_string(repo->targets().version) + ".targets.json");
  tj["version"] = repo->targets().version + 1;
  tj["delegations"] = {{"keys", {{id, pub.raw}}},
                       {"roles", {{{"name", "x86_64"}, {"keyids", {id}}, {"threshold", 1}, {"terminating", true},
                                   {"paths", {"x86_64/*"}}}}}};
  std::string tname = std::to_string(repo->targets().version + 1) + ".targets.json";
  forge(tname, tj, "targets");
  json sn = signed_of(std::to_string(repo->snapshot().version) + ".snapshot.json");
  sn["version"] = repo->snapshot().version + 1;
  sn["meta"] = {{"targets.json", {{"version", repo->targets().version + 1}}}, {"x86_64.json", {{"version", 1}}}};
  forge(std::to_string(repo->snapshot().version + 1) + ".snapshot.json", sn, "snapshot");
  json ts = signed_of("timestamp.json");
  ts["version"] = repo->timestamp().version + 1;
  ts["meta"]["snapshot.json"] = {{"version", repo->snapshot().version + 1}};
  forge("timestamp.json", ts, "timestamp");

  Updater u = updater();
  ASSERT_TRUE(u.refresh());
  auto info = u.target_info("x86_64/d.ko");
  ASSERT_TRUE(info) << info.error().str();
  ASSERT_TRUE(*info);
  auto data = u.download_target(**info);
  ASSERT_TRUE(data) << data.error().str();
  EXPECT_EQ(std::string(data->begin(), data->end()), blob);
  auto missing = u.target_info("x86_64/none.ko");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  auto outside = u.target_info("arm64/d.ko"); // no delegation matches: not even fetched
  ASSERT_TRUE(outside);
  EXPECT_FALSE(*outside);
}

} // namespace
} // namespace kpg::tuf::test
