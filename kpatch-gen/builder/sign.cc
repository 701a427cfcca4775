// SPDX-License-Identifier: GPL-2.0-only
#include "builder/sign.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>

#include "elf/modsig.h"
#include "support/file.h"

namespace kpg::build {

namespace {

// OpenSSL objects with their free functions, so that every early return cleans up.
template <auto Free> struct Deleter {
  template <typename T> void operator()(T *p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, Deleter<CMS_ContentInfo_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

// Drains OpenSSL's error queue into one line ("error:...:PEM routines::no start line"), so
// that the reason reaches the user and no stale error confuses the next call.
std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "no details from OpenSSL" : out;
}

Error ssl_error(const std::string &path, const std::string &what) {
  return make_error(Location(path), fmt::format("{} ({})", what, ssl_errors()));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string hex(const unsigned char *p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; i++)
    s += fmt::format("{:02x}", p[i]);
  return s;
}

std::string name_str(const X509_NAME *n) {
  BioPtr b(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(b.get(), n, 0, (XN_FLAG_ONELINE | ASN1_STRFLGS_UTF8_CONVERT) & ~ASN1_STRFLGS_ESC_MSB);
  char *data = nullptr;
  long len = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string serial_str(const ASN1_INTEGER *serial) {
  BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn)
    return "";
  char *h = BN_bn2hex(bn.get());
  std::string s = lower(h ? h : "");
  OPENSSL_free(h);
  return s;
}

// $KBUILD_SIGN_PIN decrypts an encrypted PEM key, as in scripts/sign-file.
int pem_password(char *buf, int size, int, void *) {
  const char *pin = std::getenv("KBUILD_SIGN_PIN");
  if (!pin)
    return -1;
  int len = static_cast<int>(std::strlen(pin));
  if (len >= size)
    return -1;
  std::memcpy(buf, pin, static_cast<size_t>(len));
  return len;
}

// PEM or DER, told apart by the first two bytes as sign-file does (a DER certificate starts
// with a SEQUENCE of long-form length: 30 81..84).
Expected<X509Ptr> read_certificate(const std::string &path) {
  auto bytes = read_file(path);
  if (!bytes)
    return bytes.error();
  BioPtr b(BIO_new_mem_buf(bytes->data(), static_cast<int>(bytes->size())));
  X509Ptr cert;
  if (bytes->size() >= 2 && (*bytes)[0] == 0x30 && (*bytes)[1] >= 0x81 && (*bytes)[1] <= 0x84)
    cert.reset(d2i_X509_bio(b.get(), nullptr));
  else
    cert.reset(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!cert)
    return ssl_error(path, "not an X.509 certificate (PEM or DER)");
  return cert;
}

// The kernel (6.1) verifies module signatures made with RSA keys and with ECDSA keys on
// NIST P-192/P-256/P-384 (crypto/ecdsa.c); anything else is "module with unsupported crypto"
// (ENOPKG, or EKEYREJECTED when signatures are enforced). Say so before signing.
Expected<std::string> kernel_key_type(EVP_PKEY *key, const std::string &path) {
  int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
  case EVP_PKEY_RSA: return fmt::format("RSA-{}", bits);
  case EVP_PKEY_EC: {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1)
      return ssl_error(path, "cannot read the curve of the EC key");
    std::string g = group;
    if (g == "prime192v1" || g == "prime256v1" || g == "secp384r1")
      return fmt::format("EC-{} ({})", bits, g);
    return make_error(Location(path), fmt::format("EC key on curve {}: the kernel verifies ECDSA module signatures "
                                                  "on NIST P-192, P-256 and P-384 only",
                                                  g));
  }
  default:
    return make_error(Location(path), fmt::format("{} key: the kernel verifies module signatures made with RSA or "
                                                  "ECDSA (NIST P-256/P-384) keys only",
                                                  OBJ_nid2sn(EVP_PKEY_get_base_id(key))));
  }
}

Expected<CmsPtr> parse_signature(std::span<const u8> file, const elf::AppendedSignature &sig, const std::string &path) {
  const unsigned char *p = file.data() + sig.module_size;
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(sig.sig_size)));
  if (!cms)
    return ssl_error(path, fmt::format("the appended module signature ({} bytes at offset {}) is not a PKCS#7 message",
                                       sig.sig_size, sig.module_size));
  return cms;
}

} // namespace

struct SigningKey::Impl {
  PkeyPtr key;
  X509Ptr cert;
};

bool is_module_sig_hash(const std::string &name) {
  return name == "sha1" || name == "sha224" || name == "sha256" || name == "sha384" || name == "sha512";
}

Expected<std::optional<std::string>> module_sig_hash_from_config(const std::string &config_path) {
  auto text = read_text_file(config_path);
  if (!text)
    return text.error();
  const std::string key = "CONFIG_MODULE_SIG_HASH=\"";
  size_t pos = 0;
  while (pos < text->size()) {
    size_t eol = text->find('\n', pos);
    std::string line = text->substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? text->size() : eol + 1;
    if (!line.starts_with(key) || line.size() < key.size() + 1 || line.back() != '"')
      continue;
    std::string v = line.substr(key.size(), line.size() - key.size() - 1);
    if (!is_module_sig_hash(v))
      return make_error(Location(config_path),
                        fmt::format("CONFIG_MODULE_SIG_HASH=\"{}\" is not a module signature hash kpatch-gen knows "
                                    "(sha1, sha224, sha256, sha384, sha512)",
                                    v));
    return std::optional<std::string>(v);
  }
  return std::optional<std::string>{};
}

Expected<SigningKey> SigningKey::load(const std::string &key_path, const std::string &cert_path) {
  auto impl = std::make_shared<Impl>();
  {
    auto bytes = read_file(key_path);
    if (!bytes)
      return bytes.error();
    BioPtr b(BIO_new_mem_buf(bytes->data(), static_cast<int>(bytes->size())));
    impl->key.reset(PEM_read_bio_PrivateKey(b.get(), nullptr, pem_password, nullptr));
    if (!impl->key)
      return ssl_error(key_path, std::getenv("KBUILD_SIGN_PIN")
                                     ? "not a PEM private key, or $KBUILD_SIGN_PIN does not decrypt it"
                                     : "not a PEM private key (an encrypted key needs its passphrase in "
                                       "$KBUILD_SIGN_PIN)");
  }
  const std::string &cp = cert_path.empty() ? key_path : cert_path;
  auto cert = read_certificate(cp);
  if (!cert) {
    if (cert_path.empty())
      return make_error(Location(key_path), "has no certificate next to the private key: pass the certificate too");
    return cert.error();
  }
  impl->cert = std::move(*cert);
  if (X509_check_private_key(impl->cert.get(), impl->key.get()) != 1) {
    ERR_clear_error();
    return make_error(Location(key_path), fmt::format("the private key does not belong to the certificate {}", cp));
  }
  auto type = kernel_key_type(impl->key.get(), key_path);
  if (!type)
    return type.error();
  SigningKey k;
  k.signer_.key_type = *type;
  k.signer_.subject = name_str(X509_get_subject_name(impl->cert.get()));
  k.signer_.issuer = name_str(X509_get_issuer_name(impl->cert.get()));
  k.signer_.serial = serial_str(X509_get0_serialNumber(impl->cert.get()));
  if (const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(impl->cert.get()))
    k.signer_.key_id = hex(ASN1_STRING_get0_data(skid), static_cast<size_t>(ASN1_STRING_length(skid)));
  k.impl_ = std::move(impl);
  return k;
}

Expected<std::vector<u8>> sign_module(std::span<const u8> module, const SigningKey &key, const std::string &hash,
                                      const std::string &path) {
  auto existing = elf::find_appended_signature(module, path);
  if (!existing || *existing)
    return make_error(Location(path), "already carries a module signature: the kernel checks only the last one, so "
                                      "sign the unsigned module instead");
  if (!is_module_sig_hash(hash))
    return make_error(Location(path), fmt::format("'{}' is not a module signature hash (sha1, sha224, sha256, sha384, "
                                                  "sha512: the target's CONFIG_MODULE_SIG_HASH)",
                                                  hash));
  const EVP_MD *md = EVP_get_digestbyname(hash.c_str());
  if (!md)
    return ssl_error(path, "OpenSSL does not know the digest " + hash);
  // The calls and flags of scripts/sign-file (CMS branch), so the output is the same bytes:
  // a partial, detached, binary CMS SignedData without certificates; one signer without
  // signed attributes (CMS_NOATTR) or S/MIME capabilities, named by issuer and serial.
  BioPtr data(BIO_new_mem_buf(module.data(), static_cast<int>(module.size())));
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr,
                      CMS_NOCERTS | CMS_PARTIAL | CMS_BINARY | CMS_DETACHED | CMS_STREAM));
  if (!cms)
    return ssl_error(path, "CMS_sign failed");
  const SigningKey::Impl &k = key.impl();
  if (!CMS_add1_signer(cms.get(), k.cert.get(), k.key.get(), md,
                       CMS_NOCERTS | CMS_BINARY | CMS_NOSMIMECAP | CMS_NOATTR))
    return ssl_error(path, "cannot add the signer to the PKCS#7 message");
  if (CMS_final(cms.get(), data.get(), nullptr, CMS_NOCERTS | CMS_BINARY) != 1)
    return ssl_error(path, "cannot sign the module");
  BioPtr out(BIO_new(BIO_s_mem()));
  if (i2d_CMS_bio_stream(out.get(), cms.get(), nullptr, 0) != 1)
    return ssl_error(path, "cannot encode the PKCS#7 message");
  char *der = nullptr;
  long der_len = BIO_get_mem_data(out.get(), &der);
  if (der_len <= 0 || static_cast<u64>(der_len) > 0xffffffffu)
    return make_error(Location(path), "the encoded PKCS#7 message has an impossible size");
  std::vector<u8> signed_module(module.begin(), module.end());
  signed_module.insert(signed_module.end(), der, der + der_len);
  std::vector<u8> trailer = elf::module_signature_trailer(static_cast<u32>(der_len));
  signed_module.insert(signed_module.end(), trailer.begin(), trailer.end());
  return signed_module;
}

Expected<std::optional<SignatureInfo>> read_module_signature(std::span<const u8> file, const std::string &path) {
  auto sig = elf::find_appended_signature(file, path);
  if (!sig)
    return sig.error();
  if (!*sig)
    return std::optional<SignatureInfo>{};
  auto cms = parse_signature(file, **sig, path);
  if (!cms)
    return cms.error();
  STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms->get());
  if (!infos || sk_CMS_SignerInfo_num(infos) < 1)
    return make_error(Location(path), "the module's PKCS#7 signature has no signer");
  CMS_SignerInfo *si = sk_CMS_SignerInfo_value(infos, 0);
  SignatureInfo info;
  info.module_size = (*sig)->module_size;
  info.sig_size = (*sig)->sig_size;
  X509_ALGOR *digest = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest, nullptr);
  if (digest) {
    const ASN1_OBJECT *obj = nullptr;
    X509_ALGOR_get0(&obj, nullptr, nullptr, digest);
    info.hash = lower(OBJ_nid2sn(OBJ_obj2nid(obj)));
  }
  ASN1_OCTET_STRING *keyid = nullptr;
  X509_NAME *issuer = nullptr;
  ASN1_INTEGER *serial = nullptr;
  if (CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial) == 1) {
    if (issuer)
      info.issuer = name_str(issuer);
    if (serial)
      info.serial = serial_str(serial);
    if (keyid)
      info.key_id = hex(ASN1_STRING_get0_data(keyid), static_cast<size_t>(ASN1_STRING_length(keyid)));
  }
  ERR_clear_error();
  return std::optional<SignatureInfo>(info);
}

Expected<void> verify_module_signature(std::span<const u8> file, const std::string &cert_path, const std::string &path) {
  auto sig = elf::find_appended_signature(file, path);
  if (!sig)
    return sig.error();
  if (!*sig)
    return make_error(Location(path), "has no module signature");
  auto cms = parse_signature(file, **sig, path);
  if (!cms)
    return cms.error();
  auto cert = read_certificate(cert_path);
  if (!cert)
    return cert.error();
  STACK_OF(X509) *certs = sk_X509_new_null();
  sk_X509_push(certs, cert->get());
  BioPtr content(BIO_new_mem_buf(file.data(), static_cast<int>((*sig)->module_size)));
  // The certificate is the trust anchor here, as a key in the kernel's keyring is: no chain
  // to verify, no certificates to take from the message (it carries none).
  int ok = CMS_verify(cms->get(), certs, nullptr, content.get(), nullptr,
                      CMS_BINARY | CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY);
  sk_X509_free(certs);
  if (ok != 1)
    return ssl_error(path, fmt::format("the module signature does not verify with {}", cert_path));
  return {};
}

} // namespace kpg::build
