// SPDX-License-Identifier: GPL-2.0-only
//
// Plain-file implementations of the client's two seams: a fetcher that reads file:// URLs
// (and bare paths) and a local store in a directory. `kpatch-gen repo verify` runs the client
// workflow with them against a repository on disk; the tests use them everywhere.
#pragma once
#include <string>

#include "tuf/client.h"

namespace kpg::tuf {

class FileFetcher final : public Fetcher {
public:
  FetchResult fetch(const std::string &url, u64 max_length) override;
};

class DirStore final : public LocalStore {
public:
  explicit DirStore(std::string dir) : dir_(std::move(dir)) {}
  std::optional<std::string> read(const std::string &name) override;
  Expected<void> write(const std::string &name, const std::string &data) override;
  Expected<void> remove(const std::string &name) override;
  const std::string &dir() const { return dir_; }

private:
  std::string dir_;
};

} // namespace kpg::tuf
