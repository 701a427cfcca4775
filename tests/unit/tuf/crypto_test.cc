// SPDX-License-Identifier: GPL-2.0-only
// Ed25519 on OpenSSL, and the spec's keyid.
#include <gtest/gtest.h>

#include "tuf/crypto.h"
#include "tuf/metadata.h"

namespace kpg::tuf {
namespace {

std::span<const u8> b(const std::string &s) { return std::span<const u8>(reinterpret_cast<const u8 *>(s.data()), s.size()); }

TEST(Ed25519, VerifiesTheRfc8032TestVector) {
  // RFC 8032 section 7.1, TEST 1: the empty message.
  auto pub = Ed25519Key::from_public_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", Location());
  ASSERT_TRUE(pub) << pub.error().str();
  const std::string sig = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
                          "d25bf5f0595bbe24655141438e7a100b";
  EXPECT_TRUE(pub->verify_hex({}, sig));
  EXPECT_FALSE(pub->verify_hex(b("x"), sig));
}

TEST(Ed25519, SignsAndVerifiesThroughPem) {
  auto k = Ed25519Key::generate();
  ASSERT_TRUE(k);
  auto pem = k->private_pem();
  ASSERT_TRUE(pem);
  EXPECT_TRUE(pem->starts_with("-----BEGIN PRIVATE KEY-----"));
  auto again = Ed25519Key::from_private_pem(*pem, Location("k.pem"));
  ASSERT_TRUE(again) << again.error().str();
  EXPECT_EQ(again->public_hex(), k->public_hex());
  auto sig = again->sign_hex(b("payload"));
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->size(), 128u);
  auto pub = Ed25519Key::from_public_hex(k->public_hex(), Location());
  ASSERT_TRUE(pub);
  EXPECT_TRUE(pub->verify_hex(b("payload"), *sig));
  EXPECT_FALSE(pub->verify_hex(b("payload!"), *sig));
  EXPECT_FALSE(pub->sign_hex(b("x"))); // public keys cannot sign
}

TEST(Ed25519, RefusesMalformedPublicKeys) {
  EXPECT_FALSE(Ed25519Key::from_public_hex("abcd", Location()));
  EXPECT_FALSE(Ed25519Key::from_public_hex(std::string(64, 'g'), Location()));
  EXPECT_FALSE(Ed25519Key::from_private_pem("not a pem", Location()));
}

TEST(Keyid, IsSha256OfTheCanonicalKeyObject) {
  Key k{"ed25519", "ed25519", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", json()};
  // sha256 of {"keytype":"ed25519","keyval":{"public":"d75a...511a"},"scheme":"ed25519"}
  std::string canon = R"({"keytype":"ed25519","keyval":{"public":"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"},"scheme":"ed25519"})";
  EXPECT_EQ(compute_keyid(k), sha256_hex(canon));
  EXPECT_EQ(sha256_hex(std::string("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, KnowsSha256AndSha512Only) {
  EXPECT_TRUE(digest_hex("sha512", b("abc")));
  EXPECT_FALSE(digest_hex("md5", b("abc")));
}

} // namespace
} // namespace kpg::tuf
