// SPDX-License-Identifier: GPL-2.0-only
//
// Kernel module signatures, made exactly as the kernel's scripts/sign-file makes them, so
// that a live patch loads on a machine that enforces signatures (Secure Boot with lockdown,
// module.sig_enforce=1, CONFIG_MODULE_SIG_FORCE):
//
//   - a detached PKCS#7 message (OpenSSL's CMS API, as sign-file uses it whenever OpenSSL
//     has CMS): the signer is identified by issuer and serial number, no certificates are
//     embedded, no signed attributes (so no signing time: the same key and module give the
//     same bytes with RSA, whose PKCS#1 v1.5 signatures are deterministic; ECDSA signatures
//     are randomised);
//   - the digest the target kernel expects (CONFIG_MODULE_SIG_HASH);
//   - appended to the module with the trailer of elf/modsig.h.
//
// The signature covers every byte of the module: it must be the last step (kpatch-gen build
// signs after verifying, and nothing may strip the module afterwards).
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "support/error.h"

namespace kpg::build {

// The digests CONFIG_MODULE_SIG_HASH can name in 6.1 (kernel/module/Kconfig).
bool is_module_sig_hash(const std::string &name);
inline constexpr const char *kDefaultModuleSigHash = "sha256"; // Debian's, and the kernel's usual

// CONFIG_MODULE_SIG_HASH of a kernel .config ("sha256"); nothing when the config does not set
// it (a kernel without CONFIG_MODULE_SIG).
Expected<std::optional<std::string>> module_sig_hash_from_config(const std::string &config_path);

// Who signs, from the certificate; what the .json report and `kpatch-gen inspect` show.
struct Signer {
  std::string subject;  // "O = kpatch-gen lab, CN = ..."
  std::string issuer;   // the PKCS#7 message names the signer by issuer and serial
  std::string serial;   // hex
  std::string key_id;   // subjectKeyIdentifier, hex: the id the kernel's keyring shows for the key
  std::string key_type; // "RSA-2048", "EC-384"
};

// A private key and the X.509 certificate that belongs to it.
class SigningKey {
public:
  // `key_path`: PEM private key (an encrypted one is decrypted with $KBUILD_SIGN_PIN, as
  // sign-file does). `cert_path`: the certificate, PEM or DER; empty = the key file also
  // holds the certificate (the kernel's own certs/signing_key.pem does). Refuses a key
  // that does not belong to the certificate, and key types the kernel cannot verify.
  static Expected<SigningKey> load(const std::string &key_path, const std::string &cert_path);
  const Signer &signer() const { return signer_; }

  struct Impl;
  const Impl &impl() const { return *impl_; }

private:
  std::shared_ptr<Impl> impl_;
  Signer signer_;
};

// `module` with its signature appended, byte for byte what
// `scripts/sign-file HASH KEY CERT MODULE` writes. Refuses a module that is already signed
// (the kernel reads only the last signature; re-signing must start from the unsigned file).
// `path` names the module in errors.
Expected<std::vector<u8>> sign_module(std::span<const u8> module, const SigningKey &key, const std::string &hash,
                                      const std::string &path);

// What an appended signature says about itself (nothing is verified).
struct SignatureInfo {
  u64 module_size = 0, sig_size = 0;
  std::string hash;            // digest algorithm of the signer info ("sha256")
  std::string issuer, serial;  // the signer, when named by issuer and serial number
  std::string key_id;          // the signer, when named by subject key identifier (sign-file -k)
};
// Nothing when the module is unsigned.
Expected<std::optional<SignatureInfo>> read_module_signature(std::span<const u8> file, const std::string &path);

// Checks the appended signature against a certificate, as the kernel checks it against its
// keyring: the message must parse, name this certificate's key, and verify over the module
// bytes. For `kpatch-gen sign`'s own check after signing, and for tests.
Expected<void> verify_module_signature(std::span<const u8> file, const std::string &cert_path, const std::string &path);

} // namespace kpg::build
