// SPDX-License-Identifier: GPL-2.0-only
// sha256_hex (declared in file.h) lives apart from the file helpers: it is the only libcrypto
// user, and kpatch-load, a static binary, compiles file.cc in without linking libcrypto.
#include <openssl/evp.h>

#include <fmt/format.h>

#include "support/file.h"

namespace kpg {

std::string sha256_hex(std::span<const u8> data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned i = 0; i < len; i++)
    out += fmt::format("{:02x}", md[i]);
  return out;
}

} // namespace kpg
