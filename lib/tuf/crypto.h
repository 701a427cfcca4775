// SPDX-License-Identifier: GPL-2.0-only
//
// The cryptography TUF needs, on OpenSSL's libcrypto: digests of metadata and targets, and
// Ed25519 keys (generate, PEM files, sign, verify). Ed25519 is pure EdDSA: it signs the
// message itself (the canonical bytes of `signed`), with no separate pre-hash.
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "support/error.h"
#include "support/types.h"

namespace kpg::tuf {

// Lowercase hex digest, for "sha256" and "sha512"; nullopt for an algorithm we do not know
// (a target listing only such hashes cannot be verified, and is refused).
std::optional<std::string> digest_hex(const std::string &algorithm, std::span<const u8> data);
std::string sha256_hex(std::span<const u8> data);
std::string sha256_hex(const std::string &data);

std::string to_hex(std::span<const u8> bytes);
// nullopt unless `hex` is an even number of hex digits.
std::optional<std::vector<u8>> from_hex(const std::string &hex);

// An Ed25519 key pair or public key. Holds an OpenSSL EVP_PKEY.
class Ed25519Key {
public:
  static Expected<Ed25519Key> generate();
  // A PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----"), as `openssl genpkey -algorithm
  // ed25519` writes it.
  static Expected<Ed25519Key> from_private_pem(const std::string &pem, const Location &where);
  // The 32 raw public key bytes in hex, as TUF's keyval.public holds them.
  static Expected<Ed25519Key> from_public_hex(const std::string &hex, const Location &where);

  bool has_private() const { return has_private_; }
  std::string public_hex() const;
  Expected<std::string> private_pem() const;
  // 64-byte signature, hex. Needs the private key.
  Expected<std::string> sign_hex(std::span<const u8> message) const;
  bool verify_hex(std::span<const u8> message, const std::string &sig_hex) const;

  Ed25519Key(Ed25519Key &&) noexcept;
  Ed25519Key &operator=(Ed25519Key &&) noexcept;
  ~Ed25519Key();

private:
  explicit Ed25519Key(void *pkey, bool has_private);
  void *pkey_ = nullptr; // EVP_PKEY *
  bool has_private_ = false;
};

} // namespace kpg::tuf
