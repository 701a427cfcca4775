// SPDX-License-Identifier: GPL-2.0-only
//
// Appended kernel module signatures: the layout the kernel reads (kernel/module/signing.c,
// kernel/module_signature.c, include/linux/module_signature.h), which scripts/sign-file
// writes:
//
//   | module (ELF) | PKCS#7 signature (DER, sig_len bytes) | struct module_signature (12) | magic (28) |
//
// struct module_signature is {u8 algo, hash, id_type, signer_len, key_id_len, __pad[3];
// __be32 sig_len}; for PKCS#7 only id_type (PKEY_ID_PKCS7 = 2) and sig_len are set, everything
// else is zero. The signature covers the module bytes only.
//
// No libelf and no crypto here: kpatch-load (a static binary without libcrypto) compiles this
// file in to tell "unsigned" from "signed, but the kernel rejected the signature" when
// finit_module fails with EKEYREJECTED, and the builder (kpatch-gen/builder/sign.cc) writes
// the trailer with it.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "support/error.h"

namespace kpg::elf {

inline constexpr std::string_view kModuleSigMagic = "~Module signature appended~\n";
inline constexpr u64 kModuleSigInfoSize = 12; // sizeof(struct module_signature)
inline constexpr u8 kPkeyIdPkcs7 = 2;

struct AppendedSignature {
  u64 module_size = 0; // bytes the signature covers: the module as it was signed
  u64 sig_size = 0;    // the PKCS#7 message at [module_size, module_size + sig_size)
};

// Nothing when `file` does not end with the magic (an unsigned module). An error, with the
// reason the kernel would give, when it does but the trailer cannot be what the kernel
// accepts (mod_check_sig: sig_len too large -> EBADMSG; id_type other than PKCS#7 -> ENOPKG;
// non-zero algo/hash/signer_len/key_id_len/pad -> EBADMSG).
Expected<std::optional<AppendedSignature>> find_appended_signature(std::span<const u8> file, const std::string &path);

// struct module_signature for a PKCS#7 message of `sig_size` bytes, followed by the magic:
// what follows the message in a signed module.
std::vector<u8> module_signature_trailer(u32 sig_size);

} // namespace kpg::elf
