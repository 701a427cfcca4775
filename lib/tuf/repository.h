// SPDX-License-Identifier: GPL-2.0-only
//
// The publisher's side of TUF: a repository of plain static files, and the private keys that
// sign it, kept apart.
//
//   DIR/metadata/1.root.json ... N.root.json   every root ever published (clients walk them)
//   DIR/metadata/V.targets.json                consistent snapshots: every version is a file
//   DIR/metadata/V.snapshot.json
//   DIR/metadata/timestamp.json                the only unversioned file; replaced last
//   DIR/targets/<dir>/<sha256>.<name>          each target under its hash (one hash: sha256)
//   KEYDIR/<keyid>.pem                         Ed25519 private keys, 0600, in a 0700 directory
//   KEYDIR/retired/<keyid>.pem                 keys replaced by rotate_key()
//   KEYDIR/publisher.json                      expiry periods; KEYDIR/lock: one writer at a time
//
// Any static HTTP server, object store or CDN can serve DIR as it is. Every file is written
// through a temporary file and rename(2), in the order clients read them backwards: targets
// files, then targets metadata, snapshot, and timestamp.json last, so that a client
// polling during a publish sees either the old or the new repository, never half of each.
// KEYDIR must not be inside DIR (a static server would hand out the keys).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "support/error.h"
#include "tuf/metadata.h"

namespace kpg::tuf {

// How long each role's metadata is valid after it is signed (seconds). A role is re-signed
// by refresh() once less than half of its period is left.
struct ExpiryPeriods {
  i64 root = 365 * 86400;
  i64 targets = 90 * 86400;
  i64 snapshot = 7 * 86400;
  i64 timestamp = 1 * 86400;
  i64 &of(const std::string &role);
  i64 of(const std::string &role) const;
};
// "30s", "15m", "6h", "7d" -> seconds.
std::optional<i64> parse_duration(const std::string &s);

struct InitOptions {
  ExpiryPeriods expires;
  u32 root_keys = 1;      // how many root keys to generate
  u32 root_threshold = 1; // how many of them must sign a root
};

class Repository {
public:
  static Expected<Repository> init(const std::string &dir, const std::string &keydir, const InitOptions &opts, i64 now);
  static Expected<Repository> open(const std::string &dir, const std::string &keydir);

  const Root &root() const { return root_; }
  const Targets &targets() const { return targets_; }
  const Snapshot &snapshot() const { return snapshot_; }
  const Timestamp &timestamp() const { return timestamp_; }
  const ExpiryPeriods &periods() const { return periods_; }
  void set_period(const std::string &role, i64 seconds) { periods_.of(role) = seconds; }
  Expected<void> save_periods();
  const std::string &dir() const { return dir_; }

  // Stores the bytes as DIR/targets/<dir>/<sha256>.<name> and lists them (length, sha256,
  // `custom`) in the targets metadata. Published by publish().
  Expected<TargetFile> add_target(const std::string &path, std::span<const u8> data, const json &custom);
  // Replaces a listed target's `custom` (promotions). Published by publish().
  Expected<void> set_custom(const std::string &path, const json &custom);

  // Signs and writes what changed: a new targets version when targets changed, then always
  // a new snapshot and timestamp.
  Expected<void> publish(i64 now);
  // Re-signs every role with less than half of its validity period left (all with `force`),
  // with the versions that implies (targets -> snapshot -> timestamp). Returns the roles
  // re-signed.
  Expected<std::vector<std::string>> refresh(i64 now, bool force);
  // Replaces one key of `role` (`old_keyid`, or its only key) by a new one: root N+1 lists
  // the new key and is signed by a threshold of the old root keys and of the new ones; the
  // role's metadata is then re-signed with the new key. The old key moves to KEYDIR/retired/.
  // Returns the new keyid.
  Expected<std::string> rotate_key(const std::string &role, const std::optional<std::string> &old_keyid, i64 now);

  Repository(Repository &&) noexcept;
  Repository &operator=(Repository &&) noexcept;
  ~Repository();

private:
  Repository() = default;
  Expected<void> load();
  Expected<std::vector<SigningKey>> signing_keys(const Root &root, const std::string &role);
  Expected<std::string> generate_key();
  Expected<void> write_metadata(const std::string &name, const std::string &data);
  Expected<void> write_root(Root next, const Root &signer, i64 now);
  Expected<void> write_targets(i64 now);
  Expected<void> write_snapshot(i64 now);
  Expected<void> write_timestamp(i64 now);

  std::string dir_, keydir_;
  int lock_fd_ = -1;
  ExpiryPeriods periods_;
  Root root_;
  Targets targets_;
  Snapshot snapshot_;
  Timestamp timestamp_;
  std::string snapshot_bytes_, targets_bytes_;
  bool targets_dirty_ = false;
  std::map<std::string, std::unique_ptr<Ed25519Key>> keys_; // loaded private keys by keyid
};

} // namespace kpg::tuf
