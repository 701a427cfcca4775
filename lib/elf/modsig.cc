// SPDX-License-Identifier: GPL-2.0-only
#include "elf/modsig.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace kpg::elf {

Expected<std::optional<AppendedSignature>> find_appended_signature(std::span<const u8> file, const std::string &path) {
  const u64 magic = kModuleSigMagic.size();
  if (file.size() < magic || std::memcmp(file.data() + file.size() - magic, kModuleSigMagic.data(), magic) != 0)
    return std::optional<AppendedSignature>{};
  Location loc(path);
  if (file.size() < magic + kModuleSigInfoSize)
    return make_error(loc, "ends with the module signature marker but is too short for the signature information");
  const u64 info_off = file.size() - magic - kModuleSigInfoSize;
  const u8 *ms = file.data() + info_off;
  u32 sig_len = (u32{ms[8]} << 24) | (u32{ms[9]} << 16) | (u32{ms[10]} << 8) | u32{ms[11]};
  // The kernel's bound: sig_len >= file_len - sizeof(struct module_signature) is EBADMSG,
  // where file_len already excludes the magic. Zero would leave no PKCS#7 message at all.
  if (sig_len == 0 || sig_len >= info_off)
    return make_error(loc, fmt::format("module signature length {} does not fit the {} bytes before the signature "
                                       "information (the kernel answers EBADMSG)",
                                       sig_len, info_off));
  if (ms[2] != kPkeyIdPkcs7)
    return make_error(loc, fmt::format("module signature of type {}, not PKCS#7 ({}): the kernel answers ENOPKG",
                                       ms[2], kPkeyIdPkcs7));
  for (int i : {0, 1, 3, 4, 5, 6, 7})
    if (ms[i] != 0)
      return make_error(loc, "PKCS#7 module signature information has non-zero algorithm, hash, signer or key id "
                             "fields (the kernel answers EBADMSG)");
  return std::optional<AppendedSignature>{AppendedSignature{info_off - sig_len, sig_len}};
}

std::vector<u8> module_signature_trailer(u32 sig_size) {
  // Sized once and filled in place: gcc 12 -O2 warns (-Warray-bounds, a false positive) on a
  // vector::insert() that grows a 12-byte vector.
  std::vector<u8> t(kModuleSigInfoSize + kModuleSigMagic.size(), 0);
  t[2] = kPkeyIdPkcs7;
  t[8] = static_cast<u8>(sig_size >> 24);
  t[9] = static_cast<u8>(sig_size >> 16);
  t[10] = static_cast<u8>(sig_size >> 8);
  t[11] = static_cast<u8>(sig_size);
  std::copy(kModuleSigMagic.begin(), kModuleSigMagic.end(), t.begin() + kModuleSigInfoSize);
  return t;
}

} // namespace kpg::elf
