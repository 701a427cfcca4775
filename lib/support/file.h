// SPDX-License-Identifier: GPL-2.0-only
// Small file helpers shared by the tools: whole-file reads, atomic writes, hashing.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "support/error.h"

namespace kpg {

Expected<std::vector<u8>> read_file(const std::string &path);
Expected<std::string> read_text_file(const std::string &path);

// Writes `data` to `path` through a temporary file in the same directory and rename(2), so a
// reader never sees a half-written file and a crash leaves the old file (or nothing) behind.
Expected<void> write_file_atomic(const std::string &path, std::span<const u8> data, unsigned mode = 0644);
Expected<void> write_text_file_atomic(const std::string &path, const std::string &text, unsigned mode = 0644);

// Lowercase hex SHA-256 (OpenSSL libcrypto; defined in sha256.cc).
std::string sha256_hex(std::span<const u8> data);

} // namespace kpg
