// SPDX-License-Identifier: GPL-2.0-only
#include "tuf/crypto.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fmt/format.h>

namespace kpg::tuf {

static EVP_PKEY *pk(void *p) { return static_cast<EVP_PKEY *>(p); }

static std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::string to_hex(std::span<const u8> bytes) {
  static const char *digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (u8 b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::optional<std::vector<u8>> from_hex(const std::string &hex) {
  if (hex.size() % 2)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::vector<u8> out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out.push_back(static_cast<u8>(hi << 4 | lo));
  }
  return out;
}

std::optional<std::string> digest_hex(const std::string &algorithm, std::span<const u8> data) {
  const EVP_MD *md = algorithm == "sha256" ? EVP_sha256() : algorithm == "sha512" ? EVP_sha512() : nullptr;
  if (!md)
    return std::nullopt;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return to_hex(std::span<const u8>(out, len));
}

std::string sha256_hex(std::span<const u8> data) { return *digest_hex("sha256", data); }
std::string sha256_hex(const std::string &data) {
  return sha256_hex(std::span<const u8>(reinterpret_cast<const u8 *>(data.data()), data.size()));
}

Ed25519Key::Ed25519Key(void *pkey, bool has_private) : pkey_(pkey), has_private_(has_private) {}
Ed25519Key::Ed25519Key(Ed25519Key &&o) noexcept : pkey_(o.pkey_), has_private_(o.has_private_) { o.pkey_ = nullptr; }
Ed25519Key &Ed25519Key::operator=(Ed25519Key &&o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(pk(pkey_));
    pkey_ = o.pkey_;
    has_private_ = o.has_private_;
    o.pkey_ = nullptr;
  }
  return *this;
}
Ed25519Key::~Ed25519Key() { EVP_PKEY_free(pk(pkey_)); }

Expected<Ed25519Key> Ed25519Key::generate() {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!k)
    return make_error(Location(), "cannot generate an Ed25519 key: " + openssl_error());
  return Ed25519Key(k, true);
}

Expected<Ed25519Key> Ed25519Key::from_private_pem(const std::string &pem, const Location &where) {
  BIO *bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!k)
    return make_error(where, "not a PEM private key: " + openssl_error());
  if (EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(k);
    return make_error(where, "not an Ed25519 key (TUF keys here are Ed25519)");
  }
  return Ed25519Key(k, true);
}

Expected<Ed25519Key> Ed25519Key::from_public_hex(const std::string &hex, const Location &where) {
  auto raw = from_hex(hex);
  if (!raw || raw->size() != 32)
    return make_error(where, "an Ed25519 public key is 64 hex digits (32 bytes)");
  EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw->data(), raw->size());
  if (!k)
    return make_error(where, "invalid Ed25519 public key: " + openssl_error());
  return Ed25519Key(k, false);
}

std::string Ed25519Key::public_hex() const {
  u8 raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(pk(pkey_), raw, &len) != 1)
    return {};
  return to_hex(std::span<const u8>(raw, len));
}

Expected<std::string> Ed25519Key::private_pem() const {
  if (!has_private_)
    return make_error(Location(), "public key only: no private key to write");
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PrivateKey(bio, pk(pkey_), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    return make_error(Location(), "cannot encode the private key: " + openssl_error());
  }
  char *data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

Expected<std::string> Ed25519Key::sign_hex(std::span<const u8> message) const {
  if (!has_private_)
    return make_error(Location(), "cannot sign with a public key");
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  u8 sig[64];
  size_t len = sizeof sig;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, pk(pkey_)) == 1 &&
            EVP_DigestSign(ctx, sig, &len, message.data(), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok)
    return make_error(Location(), "Ed25519 signing failed: " + openssl_error());
  return to_hex(std::span<const u8>(sig, len));
}

bool Ed25519Key::verify_hex(std::span<const u8> message, const std::string &sig_hex) const {
  auto sig = from_hex(sig_hex);
  if (!sig || sig->size() != 64)
    return false;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pk(pkey_)) == 1 &&
            EVP_DigestVerify(ctx, sig->data(), sig->size(), message.data(), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

} // namespace kpg::tuf
