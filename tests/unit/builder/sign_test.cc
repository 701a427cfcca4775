// SPDX-License-Identifier: GPL-2.0-only
// Module signatures (builder/sign.h): PKCS#7 signatures that verify with the signer's
// certificate and no other (the trailer itself: tests/unit/elf/modsig_test.cc). Keys are made by
// the openssl command in each test; nothing secret is checked in. The byte-for-byte
// comparison with the kernel's scripts/sign-file and the check by `openssl cms -verify` are
// functional tests (tests/functional/sign-*.sh); the kernel's own check is tests/e2e/sign.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <memory>

#include "builder/sign.h"
#include "common/temp_dir.h"
#include "support/file.h"

using namespace kpg;
using namespace kpg::build;

namespace {

void run(const std::string &cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0)
    throw std::runtime_error("command failed: " + cmd);
}

// A key pair like the kernel's default_x509.genkey makes (self-signed, with a subject key
// identifier). `newkey` is openssl req's -newkey argument.
std::pair<std::string, std::string> make_key_in(const test::TempDir &dir, const std::string &name,
                                               const std::string &newkey = "rsa:2048") {
  std::string key = dir.file(name + ".key"), crt = dir.file(name + ".crt");
  run(fmt::format("openssl req -new -x509 -nodes -utf8 -days 36500 -batch -newkey {} -subj '/O=kpatch-gen test/CN={}' "
                  "-addext subjectKeyIdentifier=hash -keyout '{}' -out '{}'",
                  newkey, name, key, crt));
  return {key, crt};
}

struct Sign : ::testing::Test {
  test::TempDir dir{"kpg-sign-test"};
  // RSA key generation takes a second or more on a busy machine: the two keys most tests
  // use ("a" and "b") are made once for the suite.
  static inline std::unique_ptr<test::TempDir> shared;
  static void SetUpTestSuite() {
    shared = std::make_unique<test::TempDir>("kpg-sign-keys");
    make_key_in(*shared, "a");
    make_key_in(*shared, "b");
  }
  static void TearDownTestSuite() { shared.reset(); }

  std::pair<std::string, std::string> make_key(const std::string &name, const std::string &newkey = "rsa:2048") {
    if ((name == "a" || name == "b") && newkey == "rsa:2048")
      return {shared->file(name + ".key"), shared->file(name + ".crt")};
    return make_key_in(dir, name, newkey);
  }
  // Stands in for a module: the signature code treats the bytes as opaque (sign_cmd.cc checks
  // for an ELF relocatable before calling it).
  std::vector<u8> module(size_t n = 4000) {
    std::vector<u8> m(n);
    for (size_t i = 0; i < n; i++)
      m[i] = static_cast<u8>(i * 7 + 3);
    return m;
  }
  std::string save(const std::string &name, const std::vector<u8> &bytes) {
    std::string p = dir.file(name);
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()),
                                             static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  SigningKey load(const std::string &key, const std::string &crt) {
    auto k = SigningKey::load(key, crt);
    if (!k)
      throw std::runtime_error(k.error().str());
    return std::move(*k);
  }
};

TEST_F(Sign, SignedModuleVerifiesWithItsCertificate) {
  auto [key, crt] = make_key("a");
  std::vector<u8> m = module();
  auto s = sign_module(m, load(key, crt), "sha256", "m.ko");
  ASSERT_TRUE(s) << s.error().str();
  // The module bytes come first, unchanged.
  ASSERT_GT(s->size(), m.size());
  EXPECT_TRUE(std::equal(m.begin(), m.end(), s->begin()));
  auto v = verify_module_signature(*s, crt, "m.ko");
  EXPECT_TRUE(v) << v.error().str();
}

TEST_F(Sign, AnotherCertificateDoesNotVerify) {
  auto [key, crt] = make_key("a");
  auto other = make_key("b");
  auto s = sign_module(module(), load(key, crt), "sha256", "m.ko");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_FALSE(verify_module_signature(*s, other.second, "m.ko"));
}

TEST_F(Sign, ChangedModuleByteDoesNotVerify) {
  auto [key, crt] = make_key("a");
  auto s = sign_module(module(), load(key, crt), "sha256", "m.ko");
  ASSERT_TRUE(s) << s.error().str();
  (*s)[1234] ^= 0x01;
  auto v = verify_module_signature(*s, crt, "m.ko");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("does not verify"), std::string::npos) << v.error().str();
}

TEST_F(Sign, RsaSignatureIsDeterministic) {
  auto [key, crt] = make_key("a");
  SigningKey k = load(key, crt);
  auto s1 = sign_module(module(), k, "sha256", "m.ko");
  auto s2 = sign_module(module(), load(key, crt), "sha256", "m.ko");
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(*s1, *s2);
}

TEST_F(Sign, SignatureNamesTheSignerAndTheDigest) {
  auto [key, crt] = make_key("signer-x");
  SigningKey k = load(key, crt);
  auto s = sign_module(module(), k, "sha384", "m.ko");
  ASSERT_TRUE(s) << s.error().str();
  auto info = read_module_signature(*s, "m.ko");
  ASSERT_TRUE(info) << info.error().str();
  ASSERT_TRUE(*info);
  EXPECT_EQ((*info)->hash, "sha384");
  EXPECT_EQ((*info)->module_size, module().size());
  // Named by issuer and serial (sign-file's default), which are the certificate's.
  EXPECT_EQ((*info)->issuer, k.signer().issuer);
  EXPECT_EQ((*info)->serial, k.signer().serial);
  EXPECT_TRUE((*info)->key_id.empty());
  EXPECT_EQ(k.signer().subject, "O = kpatch-gen test, CN = signer-x");
  EXPECT_EQ(k.signer().key_type, "RSA-2048");
  EXPECT_EQ(k.signer().key_id.size(), 40u); // SHA-1 subject key identifier, hex
}

TEST_F(Sign, AlreadySignedModuleIsRefused) {
  auto [key, crt] = make_key("a");
  SigningKey k = load(key, crt);
  auto s = sign_module(module(), k, "sha256", "m.ko");
  ASSERT_TRUE(s);
  auto again = sign_module(*s, k, "sha256", "m.ko");
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("already carries a module signature"), std::string::npos);
}

TEST_F(Sign, KeyOfAnotherCertificateIsRefused) {
  auto a = make_key("a");
  auto b = make_key("b");
  auto k = SigningKey::load(a.first, b.second);
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message.find("does not belong to the certificate"), std::string::npos) << k.error().str();
}

TEST_F(Sign, KeyFileHoldingTheCertificateIsEnough) {
  // The kernel's certs/signing_key.pem holds the key and the certificate in one file.
  auto [key, crt] = make_key("a");
  std::string both = save("both.pem", {});
  {
    auto k = read_file(key), c = read_file(crt);
    ASSERT_TRUE(k && c);
    std::vector<u8> b = *k;
    b.insert(b.end(), c->begin(), c->end());
    save("both.pem", b);
  }
  auto k = SigningKey::load(both, "");
  ASSERT_TRUE(k) << k.error().str();
  auto s = sign_module(module(), *k, "sha256", "m.ko");
  ASSERT_TRUE(s);
  EXPECT_TRUE(verify_module_signature(*s, crt, "m.ko"));
}

TEST_F(Sign, KeyFileWithoutCertificateNeedsOne) {
  auto [key, crt] = make_key("a");
  auto k = SigningKey::load(key, "");
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message.find("pass the certificate"), std::string::npos) << k.error().str();
}

TEST_F(Sign, DerCertificateIsRead) {
  auto [key, crt] = make_key("a");
  std::string der = dir.file("a.der");
  run(fmt::format("openssl x509 -in '{}' -outform DER -out '{}'", crt, der));
  auto k = SigningKey::load(key, der);
  ASSERT_TRUE(k) << k.error().str();
}

TEST_F(Sign, EncryptedKeyIsDecryptedWithKbuildSignPin) {
  auto [key, crt] = make_key("a");
  std::string enc = dir.file("enc.key");
  run(fmt::format("openssl pkey -in '{}' -aes256 -passout pass:s3cret -out '{}'", key, enc));
  ::unsetenv("KBUILD_SIGN_PIN");
  auto without = SigningKey::load(enc, crt);
  ASSERT_FALSE(without);
  EXPECT_NE(without.error().message.find("KBUILD_SIGN_PIN"), std::string::npos) << without.error().str();
  ::setenv("KBUILD_SIGN_PIN", "s3cret", 1);
  auto with = SigningKey::load(enc, crt);
  ::unsetenv("KBUILD_SIGN_PIN");
  ASSERT_TRUE(with) << with.error().str();
}

TEST_F(Sign, EcdsaP256KeySigns) {
  auto [key, crt] = make_key("ec", "ec -pkeyopt ec_paramgen_curve:prime256v1");
  SigningKey k = load(key, crt);
  EXPECT_EQ(k.signer().key_type, "EC-256 (prime256v1)");
  auto s = sign_module(module(), k, "sha256", "m.ko");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_TRUE(verify_module_signature(*s, crt, "m.ko"));
}

TEST_F(Sign, KeyTypeTheKernelCannotVerifyIsRefused) {
  auto [key, crt] = make_key("ed", "ed25519");
  auto k = SigningKey::load(key, crt);
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message.find("RSA or ECDSA"), std::string::npos) << k.error().str();
}

TEST_F(Sign, UnknownDigestIsRefused) {
  auto [key, crt] = make_key("a");
  auto s = sign_module(module(), load(key, crt), "md5", "m.ko");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("not a module signature hash"), std::string::npos);
}

TEST_F(Sign, DigestComesFromTheKernelConfig) {
  std::string cfg = save("config", {});
  std::ofstream(cfg) << "CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_SHA512=y\nCONFIG_MODULE_SIG_HASH=\"sha512\"\n";
  auto h = module_sig_hash_from_config(cfg);
  ASSERT_TRUE(h && *h);
  EXPECT_EQ(**h, "sha512");
  std::ofstream(cfg) << "# CONFIG_MODULE_SIG is not set\n";
  auto none = module_sig_hash_from_config(cfg);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

} // namespace
