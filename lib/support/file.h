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

// An exclusive flock(2) on a lock file, held until destruction. Cache entries shared by
// concurrent kpatch-gen runs (a CI job building two patches for one Debian release at once)
// take one around every step that fills them.
class FileLock {
public:
  // Locks `path` (created if missing), blocking; `on_wait` runs once first if another process
  // holds it (to say why the build pauses).
  template <typename F> static Expected<FileLock> acquire(const std::string &path, F &&on_wait) {
    auto l = open(path);
    if (!l)
      return l;
    if (auto r = l->lock(false); !r) {
      on_wait();
      if (auto w = l->lock(true); !w)
        return std::move(w).take_error();
    }
    return l;
  }
  // Locks `path` if no one holds it; an error (and no lock) otherwise.
  static Expected<FileLock> try_acquire(const std::string &path);

  FileLock(FileLock &&o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  FileLock &operator=(FileLock &&o) noexcept;
  FileLock(const FileLock &) = delete;
  FileLock &operator=(const FileLock &) = delete;
  ~FileLock();

private:
  explicit FileLock(int fd) : fd_(fd) {}
  static Expected<FileLock> open(const std::string &path);
  Expected<void> lock(bool wait);
  int fd_ = -1;
  std::string path_;
};

// Lowercase hex SHA-256 (OpenSSL libcrypto; defined in sha256.cc).
std::string sha256_hex(std::span<const u8> data);

} // namespace kpg
