// SPDX-License-Identifier: GPL-2.0-only
//
// The TUF client workflow (specification section 5, "Detailed client workflow"), over an
// abstract fetcher and an abstract local store, so that it runs the same against libcurl,
// against files in a test, and with its trusted files in any directory the caller chooses.
//
//   refresh():  1. the trusted root (root.json in the store, shipped out of band) must meet
//                  its own root threshold;
//               2. root rotation: fetch <N+1>.root.json, <N+2>... until 404/403 (any other
//                  failure aborts); each must be signed by a threshold of the trusted root's
//                  root keys *and* of its own, and have exactly version N+1; each is
//                  persisted. The final root must not be expired (freeze attack). If the
//                  timestamp or snapshot keys changed, the cached timestamp and snapshot are
//                  deleted (fast-forward attack recovery, 5.3.11);
//               3. timestamp.json: threshold; not older than the trusted one (an equal
//                  version keeps the trusted file); its snapshot version not older either;
//                  not expired;
//               4. snapshot: the cached one is reused when it is the version the timestamp
//                  names; else <V>.snapshot.json: length and hashes as the timestamp says,
//                  threshold, exactly that version (mix-and-match), every file the trusted
//                  snapshot listed still listed and not older (rollback), not expired;
//               5. targets: likewise, against the snapshot's entry for targets.json.
//   target_info(path): top-level targets, then delegations (pre-order depth first,
//               terminating delegations stop the search, at most max_delegations roles).
//   download_target(): the target's bytes, accepted only with the exact length and every
//               listed hash (an algorithm we cannot compute is a refusal).
//
// Any failed check aborts the refresh with an Error whose `code` says what kind of failure it
// was (kFetchFailed: the repository could not be read; kRejected: what it served failed a
// check; kLocal: the local store could not be written). Files already trusted stay in the
// store: the next refresh starts from them (the note at the beginning of the spec's section 5).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/error.h"
#include "tuf/metadata.h"

namespace kpg::tuf {

inline constexpr const char *kFetchFailed = "FETCH_FAILED";
inline constexpr const char *kRejected = "REJECTED";
inline constexpr const char *kLocal = "LOCAL";

enum class FetchStatus {
  Ok,
  NotFound, // HTTP 404 or 403, or a missing file: "no such version" in the root loop
  TooLarge, // more than max_length bytes were offered (the transfer was cut off)
  Failed,   // anything else: connection, timeout, stall, HTTP 5xx...
};

struct FetchResult {
  FetchStatus status = FetchStatus::Failed;
  std::vector<u8> data;
  std::string message; // why, for Failed (one line: "connection refused", "HTTP 500"...)
};

class Fetcher {
public:
  virtual ~Fetcher() = default;
  // GET `url`, reading at most `max_length` bytes: a longer body is cut off (TooLarge), so an
  // endless response cannot fill memory or disk.
  virtual FetchResult fetch(const std::string &url, u64 max_length) = 0;
};

// Where the client keeps its trusted metadata: root.json, timestamp.json, snapshot.json,
// targets.json, <role>.json (names without version prefixes).
class LocalStore {
public:
  virtual ~LocalStore() = default;
  virtual std::optional<std::string> read(const std::string &name) = 0; // nullopt: absent
  virtual Expected<void> write(const std::string &name, const std::string &data) = 0; // atomic
  virtual Expected<void> remove(const std::string &name) = 0;
};

// Caps and limits: the defaults of python-tuf's UpdaterConfig and tuf-js's defaultConfig.
struct UpdaterConfig {
  u32 max_root_rotations = 256;
  u32 max_delegations = 32;
  u64 root_max_length = 512000;
  u64 timestamp_max_length = 16384;
  u64 snapshot_max_length = 2000000;
  u64 targets_max_length = 5000000;
  bool prefix_targets_with_hash = true; // HASH.NAME target URLs when consistent_snapshot
};

struct UpdateStats {
  u32 requests = 0;
  u64 bytes = 0;
  u32 root_rotations = 0;
  bool new_timestamp = false, new_snapshot = false, new_targets = false;
  bool fast_forward_recovery = false; // timestamp/snapshot keys rotated: caches dropped
};

class Updater {
public:
  // `metadata_url`, `targets_url`: base URLs (a trailing '/' is optional). `now`: the
  // reference time for every expiry check of this updater (read once, spec 5.1).
  Updater(Fetcher &fetcher, LocalStore &store, std::string metadata_url, std::string targets_url, i64 now,
          UpdaterConfig config = {});

  Expected<void> refresh();

  // After refresh(): the trusted metadata.
  const Root &root() const { return root_; }
  const Timestamp &timestamp() const { return *timestamp_; }
  const Snapshot &snapshot() const { return *snapshot_; }
  const Targets &targets() const { return *targets_; }

  // The target's entry, from the top-level targets or the delegation that is responsible
  // for `path`; nullopt when no role lists it. Needs refresh() first.
  Expected<std::optional<TargetFile>> target_info(const std::string &path);
  // Downloads and verifies the target; the bytes returned are exactly the listed ones.
  Expected<std::vector<u8>> download_target(const TargetFile &target);
  // The URL download_target() fetches.
  std::string target_url(const TargetFile &target) const;

  const UpdateStats &stats() const { return stats_; }

private:
  struct Loaded {
    Envelope env;
    std::string bytes;
  };
  Expected<void> load_trusted_root();
  Expected<void> update_root();
  Expected<void> update_timestamp();
  Expected<void> update_snapshot();
  Expected<void> update_targets();
  Expected<Targets> load_delegated(const std::string &role, const Delegations &parent);
  FetchResult fetch(const std::string &url, u64 max_length);
  Expected<std::string> fetch_metadata(const std::string &url, u64 max_length);
  std::string metadata_url(const std::string &role, std::optional<u64> version) const;
  Expected<void> check_meta(const std::string &bytes, const MetaFile &meta, const std::string &name,
                            const Location &where) const;
  template <typename T>
  std::optional<T> load_cached(const std::string &name, const std::map<std::string, Key> &keys, const RoleKeys &role,
                               Expected<T> (*parse)(const json &, const Location &));

  Fetcher &fetcher_;
  LocalStore &store_;
  std::string metadata_url_, targets_url_;
  i64 now_;
  UpdaterConfig config_;
  Root root_;
  std::optional<Timestamp> timestamp_;
  std::optional<Snapshot> snapshot_;
  std::optional<Targets> targets_;
  std::map<std::string, Targets> delegated_;
  UpdateStats stats_;
};

// Percent-encodes everything but unreserved characters and '/' (URL paths of target files).
std::string url_encode_path(const std::string &path);

} // namespace kpg::tuf
