// SPDX-License-Identifier: GPL-2.0-only
//
// The Update Framework's metadata: the four top-level roles, their files, and signatures.
//
// Every file is an envelope {"signatures": [{"keyid", "sig"}...], "signed": {...}}. `signed`
// has `_type`, `spec_version` (major 1), `version` (>= 1) and `expires`
// ("YYYY-MM-DDTHH:MM:SSZ", UTC, exactly; python-tuf rejects anything else), plus per role:
//
//   root       consistent_snapshot, keys {keyid: key}, roles {root|targets|snapshot|
//              timestamp: {keyids, threshold}}: who may sign what
//   targets    targets {path: {length, hashes, custom?}}, delegations? (other roles that
//              sign for parts of the path space)
//   snapshot   meta {"targets.json" and every delegated role file: {version, length?, hashes?}}
//   timestamp  meta {"snapshot.json": {version, length?, hashes?}}
//
// Parsing validates types and ranges and keeps unknown fields (`extra`): a signature covers
// the whole `signed` object, unknown fields included, and a publisher that re-signs a file
// it did not write must not drop them. Nothing here knows what the targets are.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/error.h"
#include "tuf/crypto.h"
#include "tuf/json.h"

namespace kpg::tuf {

inline constexpr const char *kSpecVersion = "1.0.31"; // what python-tuf and tuf-js write
inline constexpr const char *kTopLevelRoles[] = {"root", "targets", "snapshot", "timestamp"};

// "YYYY-MM-DDTHH:MM:SSZ" <-> seconds since the epoch. Strict: exactly 20 characters.
std::optional<i64> parse_time(const std::string &s);
std::string format_time(i64 t);

// A public key as metadata lists it. Only ed25519/ed25519 keys can verify anything here;
// others are kept (and count for nothing).
struct Key {
  std::string keytype, scheme, public_value; // keyval.public
  json raw;                                   // the key object as written
  bool is_ed25519() const { return keytype == "ed25519" && scheme == "ed25519"; }
};
Key make_ed25519_key(const Ed25519Key &k);
// The spec's keyid: lowercase hex SHA-256 of the canonical form of {keytype, keyval, scheme}.
std::string compute_keyid(const Key &k);

struct RoleKeys {
  std::vector<std::string> keyids;
  u64 threshold = 1;
};

struct Signature {
  std::string keyid, sig;
};

// Fields every `signed` object has.
struct Common {
  std::string type;
  std::string spec_version = kSpecVersion;
  u64 version = 1;
  i64 expires = 0; // seconds since the epoch
  json extra = json::object(); // unknown fields, kept verbatim
};

struct Root : Common {
  bool consistent_snapshot = true;
  std::map<std::string, Key> keys; // by keyid
  std::map<std::string, RoleKeys> roles;
};

struct MetaFile {
  u64 version = 1;
  std::optional<u64> length;
  std::map<std::string, std::string> hashes;
  json extra = json::object();
};

struct Snapshot : Common {
  std::map<std::string, MetaFile> meta; // "targets.json", "<delegated>.json"
};

struct Timestamp : Common {
  MetaFile snapshot; // meta["snapshot.json"]
};

struct TargetFile {
  std::string path;
  u64 length = 0;
  std::map<std::string, std::string> hashes;
  json custom;                 // null when absent
  json extra = json::object(); // unknown fields
};

struct DelegatedRole {
  std::string name;
  RoleKeys keys;
  bool terminating = false;
  std::optional<std::vector<std::string>> paths;              // globs; '*' and '?' do not cross '/'
  std::optional<std::vector<std::string>> path_hash_prefixes; // of sha256(target path), hex
  json extra = json::object();
  bool matches(const std::string &target_path) const;
};

struct Delegations {
  std::map<std::string, Key> keys;
  std::vector<DelegatedRole> roles; // in priority order
  json extra = json::object();
};

struct Targets : Common {
  std::map<std::string, TargetFile> targets;
  std::optional<Delegations> delegations;
};

// A parsed metadata file: the `signed` value as parsed (for signature checks) and its
// signatures. Two signatures with one keyid make the file invalid (as in python-tuf and
// tuf-js): counting them twice is the classic threshold bug.
struct Envelope {
  json signed_value;
  std::vector<Signature> signatures;
  std::string signed_bytes; // canonical form of signed_value
};
Expected<Envelope> parse_envelope(std::string_view file, const Location &where);

Expected<Root> parse_root(const json &signed_value, const Location &where);
Expected<Targets> parse_targets(const json &signed_value, const Location &where);
Expected<Snapshot> parse_snapshot(const json &signed_value, const Location &where);
Expected<Timestamp> parse_timestamp(const json &signed_value, const Location &where);

json to_json(const Root &r);
json to_json(const Targets &t);
json to_json(const Snapshot &s);
json to_json(const Timestamp &t);
json to_json(const MetaFile &m);
json to_json(const TargetFile &t);

// Checks that `env` carries valid signatures of at least `role.threshold` distinct keys of
// `role` (distinct by keyid and by key material: one key listed under two keyids counts
// once). `keys` is where the role's keyids are looked up. The error names the role and how
// many valid signatures were found.
Expected<void> verify_threshold(const Envelope &env, const std::map<std::string, Key> &keys, const RoleKeys &role,
                                const std::string &role_name, const Location &where);

// Signs `signed_value` with `keys` (each with its keyid) and returns the file contents:
// the envelope as compact JSON (the bytes served; not the canonical form, which may hold
// raw control characters).
struct SigningKey {
  std::string keyid;
  const Ed25519Key *key;
};
Expected<std::string> sign_metadata(const json &signed_value, const std::vector<SigningKey> &keys);
// The same, adding signatures to the ones an envelope already has (a new root signed by the
// old and the new root keys is signed by both key sets).
Expected<std::string> add_signatures(const Envelope &env, const std::vector<SigningKey> &keys);

} // namespace kpg::tuf
