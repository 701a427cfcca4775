// SPDX-License-Identifier: GPL-2.0-only
// Metadata parsing and the threshold rules.
#include <gtest/gtest.h>

#include "tuf/metadata.h"

namespace kpg::tuf {
namespace {

TEST(Expires, ParsesOnlyTheStrictForm) {
  EXPECT_EQ(parse_time("2026-01-01T00:00:00Z"), 1767225600);
  EXPECT_EQ(format_time(1767225600), "2026-01-01T00:00:00Z");
  EXPECT_FALSE(parse_time("2026-01-01T00:00:00.123Z")); // JS toISOString() milliseconds
  EXPECT_FALSE(parse_time("2026-01-01T00:00:00+00:00"));
  EXPECT_FALSE(parse_time("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_time("2026-1-01T00:00:00Z"));
}

struct Signer {
  Ed25519Key key = Ed25519Key::generate().value();
  Key pub = make_ed25519_key(key);
  std::string id = compute_keyid(pub);
};

json root_json(const std::vector<const Signer *> &root_keys, u64 threshold) {
  Root r;
  r.type = "root";
  r.expires = 1767225600;
  RoleKeys rk;
  rk.threshold = threshold;
  for (const Signer *s : root_keys) {
    r.keys[s->id] = s->pub;
    rk.keyids.push_back(s->id);
  }
  for (const char *role : kTopLevelRoles)
    r.roles[role] = rk;
  return to_json(r);
}

Envelope envelope(const json &signed_value, const std::vector<const Signer *> &signers) {
  std::vector<SigningKey> keys;
  for (const Signer *s : signers)
    keys.push_back({s->id, &s->key});
  auto file = sign_metadata(signed_value, keys);
  EXPECT_TRUE(file);
  auto env = parse_envelope(*file, Location("root.json"));
  EXPECT_TRUE(env) << env.error().str();
  return *env;
}

Expected<void> check(const Envelope &env) {
  auto root = parse_root(env.signed_value, Location("root.json"));
  EXPECT_TRUE(root) << root.error().str();
  return verify_threshold(env, root->keys, root->roles.at("root"), "root", Location("root.json"));
}

TEST(Threshold, MetWithEnoughDistinctKeys) {
  Signer a, b, c;
  EXPECT_TRUE(check(envelope(root_json({&a, &b, &c}, 2), {&a, &c})));
}

TEST(Threshold, NotMetWithTooFewKeys) {
  Signer a, b;
  auto r = check(envelope(root_json({&a, &b}, 2), {&a}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "REJECTED");
  EXPECT_NE(r.error().message.find("valid signatures of 1 of the 2 required key(s)"), std::string::npos);
}

TEST(Threshold, SignaturesOfKeysOutsideTheRoleCountZero) {
  Signer a, b, outsider;
  EXPECT_FALSE(check(envelope(root_json({&a, &b}, 2), {&a, &outsider})));
}

TEST(Threshold, OneKeyUnderTwoKeyidsCountsOnce) {
  Signer a;
  json r = root_json({&a}, 1);
  // The same public key listed a second time under another keyid, threshold 2.
  r["keys"]["alias"] = a.pub.raw;
  r["roles"]["root"]["keyids"].push_back("alias");
  r["roles"]["root"]["threshold"] = 2;
  auto file = sign_metadata(r, {{a.id, &a.key}, {"alias", &a.key}});
  ASSERT_TRUE(file);
  auto env = parse_envelope(*file, Location("root.json"));
  ASSERT_TRUE(env);
  EXPECT_FALSE(check(*env));
}

TEST(Threshold, ADuplicatedSignatureMakesTheFileInvalid) {
  Signer a;
  Envelope env = envelope(root_json({&a}, 1), {&a});
  json file = {{"signed", env.signed_value},
               {"signatures", {{{"keyid", a.id}, {"sig", env.signatures[0].sig}}, {{"keyid", a.id}, {"sig", env.signatures[0].sig}}}}};
  auto bad = parse_envelope(file.dump(), Location("root.json"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("signs twice"), std::string::npos);
}

TEST(Threshold, ATamperedSignedPartFails) {
  Signer a;
  Envelope env = envelope(root_json({&a}, 1), {&a});
  json file = {{"signed", env.signed_value}, {"signatures", {{{"keyid", a.id}, {"sig", env.signatures[0].sig}}}}};
  file["signed"]["version"] = 2;
  auto tampered = parse_envelope(file.dump(), Location("root.json"));
  ASSERT_TRUE(tampered);
  EXPECT_FALSE(check(*tampered));
}

TEST(Threshold, UnknownFieldsAreSigned) {
  Signer a;
  json r = root_json({&a}, 1);
  r["x-publisher"] = "kept";
  Envelope env = envelope(r, {&a});
  EXPECT_TRUE(check(env));
  auto root = parse_root(env.signed_value, Location());
  ASSERT_TRUE(root);
  EXPECT_EQ(root->extra["x-publisher"], "kept");
  EXPECT_EQ(to_json(*root)["x-publisher"], "kept");
}

TEST(RootParse, RequiresConsistentSnapshot) {
  Signer a;
  json r = root_json({&a}, 1);
  r.erase("consistent_snapshot");
  auto root = parse_root(r, Location("1.root.json"));
  ASSERT_FALSE(root);
  EXPECT_NE(root.error().message.find("signed.consistent_snapshot is missing"), std::string::npos) << root.error().message;
}

TEST(RootParse, RefusesAnUnknownRoleAndSpecVersionTwo) {
  Signer a;
  json r = root_json({&a}, 1);
  r["roles"]["mirrors"] = r["roles"]["root"];
  EXPECT_FALSE(parse_root(r, Location()));
  r = root_json({&a}, 1);
  r["spec_version"] = "2.0.0";
  EXPECT_FALSE(parse_root(r, Location()));
  r = root_json({&a}, 1);
  r["roles"]["root"]["threshold"] = 0;
  EXPECT_FALSE(parse_root(r, Location()));
}

TEST(TargetsParse, RequiresLengthAndHashes) {
  json t = {{"_type", "targets"}, {"spec_version", "1.0.31"}, {"version", 1}, {"expires", "2026-01-01T00:00:00Z"},
            {"targets", {{"a.ko", {{"length", 3}}}}}};
  auto r = parse_targets(t, Location());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("signed.targets.a.ko.hashes is missing"), std::string::npos) << r.error().message;
  t["targets"]["a.ko"]["hashes"] = {{"sha256", "00"}};
  t["targets"]["a.ko"]["custom"] = {{"k", "v"}};
  auto ok = parse_targets(t, Location());
  ASSERT_TRUE(ok) << ok.error().str();
  EXPECT_EQ(ok->targets.at("a.ko").custom["k"], "v");
}

TEST(TimestampParse, ListsOnlySnapshot) {
  json t = {{"_type", "timestamp"}, {"spec_version", "1.0.31"}, {"version", 1}, {"expires", "2026-01-01T00:00:00Z"},
            {"meta", {{"snapshot.json", {{"version", 1}}}, {"targets.json", {{"version", 1}}}}}};
  EXPECT_FALSE(parse_timestamp(t, Location()));
  t["meta"].erase("targets.json");
  auto ts = parse_timestamp(t, Location());
  ASSERT_TRUE(ts);
  EXPECT_FALSE(ts->snapshot.length); // optional
}

TEST(Delegation, GlobsDoNotCrossSlashes) {
  DelegatedRole r;
  r.paths = std::vector<std::string>{"x86_64/*"};
  EXPECT_TRUE(r.matches("x86_64/a.ko"));
  EXPECT_FALSE(r.matches("x86_64/6.1/a.ko"));
  r.paths = std::vector<std::string>{"x86_64/*/?.ko"};
  EXPECT_TRUE(r.matches("x86_64/6.1/a.ko"));
  EXPECT_FALSE(r.matches("x86_64/6.1/ab.ko"));
}

TEST(Delegation, HashPrefixesMatchTheSha256OfThePath) {
  DelegatedRole r;
  std::string h = sha256_hex(std::string("a.ko"));
  r.path_hash_prefixes = std::vector<std::string>{h.substr(0, 2)};
  EXPECT_TRUE(r.matches("a.ko"));
  r.path_hash_prefixes = std::vector<std::string>{h[0] == '0' ? "f" : "0"};
  EXPECT_FALSE(r.matches("a.ko"));
}

} // namespace
} // namespace kpg::tuf
