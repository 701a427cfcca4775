// SPDX-License-Identifier: GPL-2.0-only
// A publisher's repository and a client in one temp dir, plus a fetcher that records every
// request and can be told to answer some URLs differently (the faults of the attack tests).
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "tuf/client.h"
#include "tuf/files.h"
#include "tuf/repository.h"

namespace kpg::tuf::test {

inline constexpr i64 kT0 = 1767225600; // 2026-01-01T00:00:00Z

class RecordingFetcher final : public Fetcher {
public:
  FetchResult fetch(const std::string &url, u64 max_length) override;
  std::vector<std::string> urls;
  // url suffix -> replacement answer
  std::map<std::string, std::function<FetchResult(const std::string &url, u64 max)>> overrides;
  FileFetcher files;
};

std::string read(const std::string &path);
void write(const std::string &path, const std::string &data);
std::span<const u8> bytes(const std::string &s);

// The publisher fsyncs every file it writes; on a busy disk that is most of a test's time,
// on /dev/shm next to nothing. An explicit TMPDIR still wins.
std::string fast_temp_base();

struct TufTest : ::testing::Test {
  kpg::test::TempDir tmp{"kpg-tuf", fast_temp_base()};
  std::string repo_dir = tmp.file("repo"), key_dir = tmp.file("keys"), client_dir = tmp.file("client");
  std::optional<Repository> repo;
  RecordingFetcher fetcher;
  DirStore store{client_dir};

  void SetUp() override;
  // A client whose trusted root is 1.root.json, as if installed out of band.
  Updater updater(i64 now = kT0 + 60);
  std::string md(const std::string &name) const { return repo_dir + "/metadata/" + name; }
  // Adds a target with these bytes and publishes.
  TargetFile publish_target(const std::string &path, const std::string &data, i64 now = kT0);
  // The private key of `keyid` from the key directory (to forge metadata with real keys).
  Ed25519Key key(const std::string &keyid) const;
  std::vector<SigningKey> role_keys(const std::string &role, std::vector<Ed25519Key> &holder) const;
  // Re-signs `signed_value` with `role`'s current keys and writes it to metadata/<name>.
  void forge(const std::string &name, const json &signed_value, const std::string &role);
  json signed_of(const std::string &name) const; // the `signed` part of metadata/<name>
};

} // namespace kpg::tuf::test
