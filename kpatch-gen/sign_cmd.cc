// SPDX-License-Identifier: GPL-2.0-only
//
// `kpatch-gen sign MODULE.ko --key KEY [--cert CERT]`: append a kernel module signature,
// the same bytes as the kernel's scripts/sign-file (builder/sign.h), for a module built
// without --sign-key or by another tool. The signature is checked against the certificate
// right after signing, so a key/certificate mix-up shows here and not as EKEYREJECTED on a
// production machine.
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include "builder/sign.h"
#include "commands.h"
#include "elf/modsig.h"
#include "support/file.h"

using nlohmann::json;

namespace kpg::cli {

static std::string sign_help() {
  return "Append a module signature to MODULE as the kernel's scripts/sign-file does: a detached PKCS#7 "
         "(CMS) message without certificates or signed attributes, the struct module_signature trailer and the "
         "\"~Module signature appended~\" marker. A kernel that enforces signatures (Secure Boot with lockdown, "
         "module.sig_enforce=1, CONFIG_MODULE_SIG_FORCE) loads the module only if the certificate's key is in one "
         "of its keyrings: on Debian with Secure Boot, enrol the certificate with mokutil (see README.md, "
         "\"Signed modules\").\n\n"
         "Use the digest the target kernel names in CONFIG_MODULE_SIG_HASH (--hash, or --config to read it; "
         "default sha256, Debian's). With an RSA key the same module and key give the same bytes. Sign last: "
         "stripping or otherwise rewriting the module afterwards breaks the signature. `kpatch-gen build "
         "--sign-key` signs as its last step.\n\n"
         "Exit codes:\n"
         "  0  signed (and checked against the certificate)\n"
         "  1  error: unreadable or mismatched key/certificate, key type the kernel cannot verify, module "
         "already signed or not an ELF relocatable object\n"
         "  2  usage error\n\n"
         "Example (a test key; on a real machine, the key you enrolled):\n"
         "  openssl req -new -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=my live patches' \\\n"
         "      -keyout signing.key -out signing.crt -outform PEM\n"
         "  kpatch-gen sign out/livepatch_fix.ko --key signing.key --cert signing.crt\n";
}

CLI::App *add_sign_command(CLI::App &app, SignArgs &a) {
  CLI::App *c = app.add_subcommand("sign", "append a kernel module signature (as scripts/sign-file does)");
  c->footer(sign_help());
  c->add_option("MODULE", a.module, "module to sign (.ko, unsigned)")->required()->check(CLI::ExistingFile);
  c->add_option("--key", a.key, "PEM private key (encrypted: passphrase in $KBUILD_SIGN_PIN)")
      ->required()
      ->check(CLI::ExistingFile);
  c->add_option("--cert", a.cert, "X.509 certificate of the key, PEM or DER (default: in the key file)")
      ->check(CLI::ExistingFile);
  auto *h = c->add_option("--hash", a.hash, "digest: sha1, sha224, sha256, sha384, sha512 (default sha256)");
  c->add_option("--config", a.config, "take the digest from this kernel .config (CONFIG_MODULE_SIG_HASH)")
      ->check(CLI::ExistingFile)
      ->excludes(h);
  c->add_option("-o,--output", a.output, "write the signed module here (default: replace MODULE, atomically)");
  c->add_flag("--json", a.json, "print the result as JSON on stdout");
  c->add_flag("-q,--quiet", a.quiet, "print only errors");
  return c;
}

json signature_report(const build::Signer &signer, const std::string &hash, u64 sig_size, const std::string &unsigned_sha256) {
  return {{"format", "pkcs7"},
          {"hash", hash},
          {"size", sig_size},
          {"signer",
           {{"subject", signer.subject},
            {"issuer", signer.issuer},
            {"serial", signer.serial},
            {"key_id", signer.key_id},
            {"key_type", signer.key_type}}},
          {"unsigned_sha256", unsigned_sha256}};
}

Expected<std::string> signing_hash(const std::string &option, const std::string &config) {
  if (!option.empty()) {
    if (!build::is_module_sig_hash(option))
      return make_error(Location{}, fmt::format("--hash {}: not a module signature digest (sha1, sha224, sha256, "
                                                "sha384, sha512)",
                                                option));
    return option;
  }
  if (!config.empty()) {
    auto h = build::module_sig_hash_from_config(config);
    if (!h)
      return h.error();
    if (*h)
      return **h;
  }
  return std::string(build::kDefaultModuleSigHash);
}

void add_build_sign_options(CLI::App *c, BuildArgs &a) {
  auto *key = c->add_option("--sign-key", a.sign_key,
                            "sign the module as the last step with this PEM private key, as the kernel's "
                            "scripts/sign-file does, with the target's CONFIG_MODULE_SIG_HASH (see `kpatch-gen sign "
                            "--help`; needed where Secure Boot or module.sig_enforce is on)")
                  ->check(CLI::ExistingFile);
  c->add_option("--sign-cert", a.sign_cert, "the signing key's X.509 certificate, PEM or DER (default: in the key file)")
      ->check(CLI::ExistingFile)
      ->needs(key);
}

namespace {

// The key and certificate of --sign-key/--sign-cert, and the target's CONFIG_MODULE_SIG_HASH.
class BuildSigning final : public build::ModuleSigner {
public:
  BuildSigning(std::string key, std::string cert) : key_path_(std::move(key)), cert_path_(std::move(cert)) {}

  Expected<void> load(const std::string &config) override {
    auto key = build::SigningKey::load(key_path_, cert_path_);
    if (!key)
      return key.error();
    auto hash = signing_hash("", config);
    if (!hash)
      return hash.error();
    key_.emplace(std::move(*key));
    hash_ = std::move(*hash);
    return {};
  }

  std::string describe() const override {
    const build::Signer &who = key_->signer();
    return fmt::format("{} by {} (key id {})", hash_, who.subject, who.key_id.empty() ? "none" : who.key_id);
  }

  Expected<json> sign(std::vector<u8> &module, const std::string &name) const override {
    const std::string unsigned_sha = sha256_hex(module);
    const u64 unsigned_size = module.size();
    auto signed_module = build::sign_module(module, *key_, hash_, name);
    if (!signed_module)
      return signed_module.error();
    module = std::move(*signed_module);
    // The PKCS#7 message alone; the 40 bytes of trailer and marker follow it.
    const u64 sig_size = module.size() - unsigned_size - elf::kModuleSigInfoSize - elf::kModuleSigMagic.size();
    return signature_report(key_->signer(), hash_, sig_size, unsigned_sha);
  }

private:
  std::string key_path_, cert_path_;
  std::optional<build::SigningKey> key_;
  std::string hash_;
};

} // namespace

std::shared_ptr<build::ModuleSigner> build_signer(const BuildArgs &a) {
  if (a.sign_key.empty())
    return nullptr;
  return std::make_shared<BuildSigning>(a.sign_key, a.sign_cert);
}

ExitCode run_sign_command(const SignArgs &a) {
  auto fail = [](const std::string &msg) {
    std::fprintf(stderr, "kpatch-gen sign: error: %s\n", msg.c_str());
    return ExitCode::Failed;
  };
  auto hash = signing_hash(a.hash, a.config);
  if (!hash)
    return fail(hash.error().str());
  if (hash->empty())
    return fail("no digest");
  auto module = read_file(a.module);
  if (!module)
    return fail(module.error().str());
  // The signature is appended to a module file: an ELF relocatable object (ET_REL = 1).
  const std::vector<u8> &m = *module;
  if (m.size() < 18 || m[0] != 0x7f || m[1] != 'E' || m[2] != 'L' || m[3] != 'F' || m[16] != 1 || m[17] != 0)
    return fail(a.module + ": not an ELF relocatable object (a kernel module .ko)");
  auto key = build::SigningKey::load(a.key, a.cert);
  if (!key)
    return fail(key.error().str());
  auto signed_module = build::sign_module(m, *key, *hash, a.module);
  if (!signed_module)
    return fail(signed_module.error().str());
  if (auto v = build::verify_module_signature(*signed_module, a.cert.empty() ? a.key : a.cert, a.module); !v)
    return fail(v.error().str());
  const std::string out = a.output.empty() ? a.module : a.output;
  // A module signed in place keeps its mode (write_file_atomic's default is 0644).
  unsigned mode = 0644;
  std::error_code ec;
  if (auto st = std::filesystem::status(out, ec); !ec && std::filesystem::exists(st))
    mode = static_cast<unsigned>(st.permissions()) & 07777;
  if (auto w = write_file_atomic(out, *signed_module, mode); !w)
    return fail(w.error().str());
  // The PKCS#7 message alone; the 40 bytes of trailer and marker follow it.
  const u64 sig_size = signed_module->size() - m.size() - elf::kModuleSigInfoSize - elf::kModuleSigMagic.size();
  json r = signature_report(key->signer(), *hash, sig_size, sha256_hex(m));
  std::string sha = sha256_hex(*signed_module);
  if (a.json)
    std::printf("%s\n", json{{"module", out}, {"sha256", sha}, {"signature", r}}.dump(2).c_str());
  if (!a.quiet)
    std::fprintf(stderr, "kpatch-gen sign: wrote %s (sha256 %s): %s signature, %llu bytes, by %s (key id %s)\n",
                 out.c_str(), sha.c_str(), hash->c_str(), static_cast<unsigned long long>(sig_size),
                 key->signer().subject.c_str(), key->signer().key_id.empty() ? "none" : key->signer().key_id.c_str());
  return ExitCode::Ok;
}

} // namespace kpg::cli
