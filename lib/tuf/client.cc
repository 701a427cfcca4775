// SPDX-License-Identifier: GPL-2.0-only
#include "tuf/client.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace kpg::tuf {

static std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/')
    s.pop_back();
  return s;
}

std::string url_encode_path(const std::string &path) {
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

static Error rejected(const Location &where, std::string msg) { return make_error(where, std::move(msg), kRejected); }

static std::string as_string(const std::vector<u8> &v) { return std::string(v.begin(), v.end()); }

static std::span<const u8> bytes_of(const std::string &s) {
  return std::span<const u8>(reinterpret_cast<const u8 *>(s.data()), s.size());
}

static std::string expired_message(const std::string &what, i64 expires) {
  return fmt::format("{} expired at {}: the repository is not re-signing its metadata, or someone is replaying old "
                     "files (freeze attack); check the publisher's `kpatch-gen repo refresh` and this machine's clock",
                     what, format_time(expires));
}

Updater::Updater(Fetcher &fetcher, LocalStore &store, std::string metadata_url, std::string targets_url, i64 now,
                 UpdaterConfig config)
    : fetcher_(fetcher), store_(store), metadata_url_(strip_slash(std::move(metadata_url))),
      targets_url_(strip_slash(std::move(targets_url))), now_(now), config_(config) {}

FetchResult Updater::fetch(const std::string &url, u64 max_length) {
  FetchResult r = fetcher_.fetch(url, max_length);
  stats_.requests++;
  stats_.bytes += r.data.size();
  return r;
}

Expected<std::string> Updater::fetch_metadata(const std::string &url, u64 max_length) {
  FetchResult r = fetch(url, max_length);
  switch (r.status) {
  case FetchStatus::Ok: return as_string(r.data);
  case FetchStatus::TooLarge:
    return rejected(Location(url), fmt::format("larger than the {} bytes allowed for it (endless data attack?)", max_length));
  case FetchStatus::NotFound:
    return make_error(Location(url), "not found on the repository" + (r.message.empty() ? "" : " (" + r.message + ")"),
                      kFetchFailed);
  case FetchStatus::Failed: break;
  }
  return make_error(Location(url), r.message.empty() ? "cannot fetch" : r.message, kFetchFailed);
}

std::string Updater::metadata_url(const std::string &role, std::optional<u64> version) const {
  std::string name = url_encode_path(role) + ".json";
  if (version)
    name = std::to_string(*version) + "." + name;
  return metadata_url_ + "/" + name;
}

template <typename T>
std::optional<T> Updater::load_cached(const std::string &name, const std::map<std::string, Key> &keys,
                                      const RoleKeys &role, Expected<T> (*parse)(const json &, const Location &)) {
  // A cached file that no longer verifies (keys rotated, file damaged) is simply not
  // trusted any more: that is how python-tuf and tuf-js recover from a fast-forward attack.
  std::optional<std::string> data = store_.read(name);
  if (!data)
    return std::nullopt;
  Location where(name + " (cached)");
  auto env = parse_envelope(*data, where);
  if (!env || !verify_threshold(*env, keys, role, name, where))
    return std::nullopt;
  auto parsed = parse(env->signed_value, where);
  if (!parsed)
    return std::nullopt;
  return std::move(*parsed);
}

Expected<void> Updater::load_trusted_root() {
  std::optional<std::string> data = store_.read("root.json");
  Location where("root.json (trusted)");
  if (!data)
    return make_error(where, "no trusted root: the client needs root.json installed out of band", kLocal);
  auto env = parse_envelope(*data, where);
  if (!env)
    return std::move(env).take_error();
  auto root = parse_root(env->signed_value, where);
  if (!root)
    return std::move(root).take_error();
  if (auto v = verify_threshold(*env, root->keys, root->roles.at("root"), "root", where); !v)
    return v;
  root_ = std::move(*root);
  return {};
}

Expected<void> Updater::update_root() {
  const RoleKeys old_ts = root_.roles.at("timestamp"), old_sn = root_.roles.at("snapshot");
  for (u32 i = 0; i < config_.max_root_rotations; i++) {
    const u64 next = root_.version + 1;
    const std::string url = metadata_url("root", next);
    FetchResult r = fetch(url, config_.root_max_length);
    if (r.status == FetchStatus::NotFound)
      break;
    if (r.status == FetchStatus::TooLarge)
      return rejected(Location(url), fmt::format("larger than the {} bytes allowed", config_.root_max_length));
    if (r.status != FetchStatus::Ok)
      return make_error(Location(url), r.message, kFetchFailed);
    Location where(url);
    const std::string bytes = as_string(r.data);
    auto env = parse_envelope(bytes, where);
    if (!env)
      return std::move(env).take_error();
    auto root = parse_root(env->signed_value, where);
    if (!root)
      return std::move(root).take_error();
    // Signed by the keys we trust now, and by the keys it names itself (so a new root key
    // set must prove it holds its keys).
    if (auto v = verify_threshold(*env, root_.keys, root_.roles.at("root"), "root (by the trusted root's keys)", where);
        !v)
      return v;
    if (auto v = verify_threshold(*env, root->keys, root->roles.at("root"), "root (by its own keys)", where); !v)
      return v;
    if (root->version != next)
      return rejected(where, fmt::format("version {} where {} was expected", root->version, next));
    // Expiry of intermediate roots does not matter: only the final one must be current.
    root_ = std::move(*root);
    if (auto w = store_.write("root.json", bytes); !w)
      return make_error(w.error().loc, w.error().message, kLocal);
    stats_.root_rotations++;
  }
  if (now_ >= root_.expires)
    return rejected(Location(fmt::format("{}.root.json", root_.version)), expired_message("the root metadata", root_.expires));
  auto changed = [](const RoleKeys &a, const RoleKeys &b) {
    std::set<std::string> x(a.keyids.begin(), a.keyids.end()), y(b.keyids.begin(), b.keyids.end());
    return x != y || a.threshold != b.threshold;
  };
  if (changed(old_ts, root_.roles.at("timestamp")) || changed(old_sn, root_.roles.at("snapshot"))) {
    // Fast-forward attack recovery (5.3.11): versions signed by the old keys may be
    // arbitrarily high; forget them so the new keys' lower versions are accepted.
    for (const char *name : {"timestamp.json", "snapshot.json"})
      if (auto rm = store_.remove(name); !rm)
        return make_error(rm.error().loc, rm.error().message, kLocal);
    stats_.fast_forward_recovery = true;
  }
  return {};
}

Expected<void> Updater::update_timestamp() {
  std::optional<Timestamp> trusted =
      load_cached<Timestamp>("timestamp.json", root_.keys, root_.roles.at("timestamp"), parse_timestamp);
  const std::string url = metadata_url("timestamp", std::nullopt); // never version-prefixed
  auto bytes = fetch_metadata(url, config_.timestamp_max_length);
  if (!bytes)
    return std::move(bytes).take_error();
  Location where(url);
  auto env = parse_envelope(*bytes, where);
  if (!env)
    return std::move(env).take_error();
  if (auto v = verify_threshold(*env, root_.keys, root_.roles.at("timestamp"), "timestamp", where); !v)
    return v;
  auto ts = parse_timestamp(env->signed_value, where);
  if (!ts)
    return std::move(ts).take_error();
  if (trusted) {
    if (ts->version < trusted->version)
      return rejected(where, fmt::format("version {} is older than the trusted version {} (rollback attack, or a "
                                         "stale cache between this machine and the repository)",
                                         ts->version, trusted->version));
    if (ts->snapshot.version < trusted->snapshot.version)
      return rejected(where, fmt::format("names snapshot version {}, older than the trusted {} (rollback attack)",
                                         ts->snapshot.version, trusted->snapshot.version));
    if (ts->version == trusted->version) {
      // Nothing new. Keep the trusted file (spec issue #207: equal is not an error).
      if (now_ >= trusted->expires)
        return rejected(where, expired_message("the timestamp metadata", trusted->expires));
      timestamp_ = std::move(*trusted);
      return {};
    }
  }
  if (now_ >= ts->expires)
    return rejected(where, expired_message("the timestamp metadata", ts->expires));
  if (auto w = store_.write("timestamp.json", *bytes); !w)
    return make_error(w.error().loc, w.error().message, kLocal);
  timestamp_ = std::move(*ts);
  stats_.new_timestamp = true;
  return {};
}

Expected<void> Updater::check_meta(const std::string &bytes, const MetaFile &meta, const std::string &name,
                                   const Location &where) const {
  if (meta.length && bytes.size() != *meta.length)
    return rejected(where, fmt::format("is {} bytes, but {} says {}", bytes.size(), name, *meta.length));
  for (const auto &[algo, want] : meta.hashes) {
    std::optional<std::string> got = digest_hex(algo, bytes_of(bytes));
    if (!got)
      return rejected(where, fmt::format("{} lists a {} hash, which this client cannot compute", name, algo));
    if (*got != want)
      return rejected(where, fmt::format("{} hash {} differs from the {} that {} lists", algo, *got, want, name));
  }
  return {};
}

Expected<void> Updater::update_snapshot() {
  const MetaFile &meta = timestamp_->snapshot;
  std::optional<Snapshot> trusted =
      load_cached<Snapshot>("snapshot.json", root_.keys, root_.roles.at("snapshot"), parse_snapshot);
  if (trusted && trusted->version == meta.version && now_ < trusted->expires) {
    snapshot_ = std::move(*trusted); // unchanged: no download
    return {};
  }
  const std::string url = metadata_url("snapshot", root_.consistent_snapshot ? std::optional<u64>(meta.version) : std::nullopt);
  auto bytes = fetch_metadata(url, meta.length.value_or(config_.snapshot_max_length));
  if (!bytes)
    return std::move(bytes).take_error();
  Location where(url);
  if (auto c = check_meta(*bytes, meta, "timestamp.json", where); !c)
    return c;
  auto env = parse_envelope(*bytes, where);
  if (!env)
    return std::move(env).take_error();
  if (auto v = verify_threshold(*env, root_.keys, root_.roles.at("snapshot"), "snapshot", where); !v)
    return v;
  auto sn = parse_snapshot(env->signed_value, where);
  if (!sn)
    return std::move(sn).take_error();
  if (sn->version != meta.version)
    return rejected(where, fmt::format("version {}, but timestamp.json names version {} (mix-and-match attack)",
                                       sn->version, meta.version));
  if (trusted) {
    for (const auto &[name, old] : trusted->meta) {
      auto it = sn->meta.find(name);
      if (it == sn->meta.end())
        return rejected(where, fmt::format("no longer lists {}, which the trusted snapshot did (rollback attack)", name));
      if (it->second.version < old.version)
        return rejected(where, fmt::format("lists {} version {}, older than the trusted {} (rollback attack)", name,
                                           it->second.version, old.version));
    }
  }
  if (now_ >= sn->expires)
    return rejected(where, expired_message("the snapshot metadata", sn->expires));
  if (auto w = store_.write("snapshot.json", *bytes); !w)
    return make_error(w.error().loc, w.error().message, kLocal);
  snapshot_ = std::move(*sn);
  stats_.new_snapshot = true;
  return {};
}

Expected<void> Updater::update_targets() {
  auto it = snapshot_->meta.find("targets.json");
  const MetaFile &meta = it->second; // parse_snapshot requires targets.json
  std::optional<Targets> trusted =
      load_cached<Targets>("targets.json", root_.keys, root_.roles.at("targets"), parse_targets);
  if (trusted && trusted->version == meta.version && now_ < trusted->expires) {
    targets_ = std::move(*trusted);
    return {};
  }
  const std::string url = metadata_url("targets", root_.consistent_snapshot ? std::optional<u64>(meta.version) : std::nullopt);
  auto bytes = fetch_metadata(url, meta.length.value_or(config_.targets_max_length));
  if (!bytes)
    return std::move(bytes).take_error();
  Location where(url);
  if (auto c = check_meta(*bytes, meta, "snapshot.json", where); !c)
    return c;
  auto env = parse_envelope(*bytes, where);
  if (!env)
    return std::move(env).take_error();
  if (auto v = verify_threshold(*env, root_.keys, root_.roles.at("targets"), "targets", where); !v)
    return v;
  auto tg = parse_targets(env->signed_value, where);
  if (!tg)
    return std::move(tg).take_error();
  if (tg->version != meta.version)
    return rejected(where, fmt::format("version {}, but snapshot.json names version {} (mix-and-match attack)",
                                       tg->version, meta.version));
  if (now_ >= tg->expires)
    return rejected(where, expired_message("the targets metadata", tg->expires));
  if (auto w = store_.write("targets.json", *bytes); !w)
    return make_error(w.error().loc, w.error().message, kLocal);
  targets_ = std::move(*tg);
  stats_.new_targets = true;
  return {};
}

Expected<void> Updater::refresh() {
  timestamp_.reset();
  snapshot_.reset();
  targets_.reset();
  delegated_.clear();
  if (auto r = load_trusted_root(); !r)
    return r;
  if (auto r = update_root(); !r)
    return r;
  if (auto r = update_timestamp(); !r)
    return r;
  if (auto r = update_snapshot(); !r)
    return r;
  return update_targets();
}

Expected<Targets> Updater::load_delegated(const std::string &role, const Delegations &parent) {
  if (auto it = delegated_.find(role); it != delegated_.end())
    return it->second;
  const DelegatedRole *dr = nullptr;
  for (const DelegatedRole &r : parent.roles)
    if (r.name == role)
      dr = &r;
  const std::string file = role + ".json";
  auto m = snapshot_->meta.find(file);
  if (!dr || m == snapshot_->meta.end())
    return rejected(Location("snapshot.json"), fmt::format("does not list delegated role {}", file));
  const MetaFile &meta = m->second;
  const std::string local = url_encode_path(role) + ".json";
  std::optional<Targets> trusted = load_cached<Targets>(local, parent.keys, dr->keys, parse_targets);
  if (trusted && trusted->version == meta.version && now_ < trusted->expires) {
    delegated_[role] = *trusted;
    return std::move(*trusted);
  }
  const std::string url = metadata_url(role, root_.consistent_snapshot ? std::optional<u64>(meta.version) : std::nullopt);
  auto bytes = fetch_metadata(url, meta.length.value_or(config_.targets_max_length));
  if (!bytes)
    return std::move(bytes).take_error();
  Location where(url);
  if (auto c = check_meta(*bytes, meta, "snapshot.json", where); !c)
    return std::move(c).take_error();
  auto env = parse_envelope(*bytes, where);
  if (!env)
    return std::move(env).take_error();
  if (auto v = verify_threshold(*env, parent.keys, dr->keys, role, where); !v)
    return std::move(v).take_error();
  auto tg = parse_targets(env->signed_value, where);
  if (!tg)
    return std::move(tg).take_error();
  if (tg->version != meta.version)
    return rejected(where, fmt::format("version {}, but snapshot.json names version {}", tg->version, meta.version));
  if (now_ >= tg->expires)
    return rejected(where, expired_message("delegated role " + role, tg->expires));
  if (auto w = store_.write(local, *bytes); !w)
    return make_error(w.error().loc, w.error().message, kLocal);
  delegated_[role] = *tg;
  return std::move(*tg);
}

Expected<std::optional<TargetFile>> Updater::target_info(const std::string &path) {
  if (auto it = targets_->targets.find(path); it != targets_->targets.end())
    return std::optional<TargetFile>(it->second);
  // Pre-order depth-first search of the delegation graph (spec 5.6.7). The stack holds
  // (role, the targets metadata that delegates to it); terminating roles drop the siblings
  // still waiting.
  struct Visit {
    std::string role;
    const Delegations *parent;
  };
  std::vector<Visit> stack;
  std::set<std::string> visited;
  std::vector<std::unique_ptr<Targets>> keep; // parents must outlive their stack entries
  auto push_children = [&](const Targets &t) {
    if (!t.delegations)
      return;
    std::vector<Visit> children;
    for (const DelegatedRole &r : t.delegations->roles) {
      if (!r.matches(path))
        continue;
      children.push_back({r.name, &*t.delegations});
      if (r.terminating) {
        stack.clear();
        break;
      }
    }
    stack.insert(stack.end(), children.rbegin(), children.rend());
  };
  push_children(*targets_);
  u32 visits = 0;
  while (!stack.empty() && visits < config_.max_delegations) {
    Visit v = stack.back();
    stack.pop_back();
    if (!visited.insert(v.role).second)
      continue;
    visits++;
    auto t = load_delegated(v.role, *v.parent);
    if (!t)
      return std::move(t).take_error();
    keep.push_back(std::make_unique<Targets>(std::move(*t)));
    const Targets &tg = *keep.back();
    if (auto it = tg.targets.find(path); it != tg.targets.end())
      return std::optional<TargetFile>(it->second);
    push_children(tg);
  }
  return std::optional<TargetFile>();
}

std::string Updater::target_url(const TargetFile &t) const {
  std::string dir, base = t.path;
  if (auto slash = t.path.rfind('/'); slash != std::string::npos) {
    dir = t.path.substr(0, slash + 1);
    base = t.path.substr(slash + 1);
  }
  if (root_.consistent_snapshot && config_.prefix_targets_with_hash && !t.hashes.empty()) {
    // The first listed hash names the file; we publish sha256 only, and prefer it.
    auto h = t.hashes.find("sha256");
    base = (h != t.hashes.end() ? h->second : t.hashes.begin()->second) + "." + base;
  }
  return targets_url_ + "/" + url_encode_path(dir + base);
}

Expected<std::vector<u8>> Updater::download_target(const TargetFile &t) {
  const std::string url = target_url(t);
  Location where(url);
  FetchResult r = fetch(url, t.length);
  if (r.status == FetchStatus::TooLarge)
    return rejected(where, fmt::format("longer than the {} bytes the targets metadata lists for {}", t.length, t.path));
  if (r.status != FetchStatus::Ok)
    return make_error(where, r.message.empty() ? "cannot fetch" : r.message, kFetchFailed);
  if (r.data.size() != t.length)
    return rejected(where, fmt::format("{} bytes, but the targets metadata lists {} for {}", r.data.size(), t.length, t.path));
  if (t.hashes.empty())
    return rejected(where, "the targets metadata lists no hash for " + t.path);
  for (const auto &[algo, want] : t.hashes) {
    std::optional<std::string> got = digest_hex(algo, r.data);
    if (!got)
      return rejected(where, fmt::format("{} is listed with a {} hash, which this client cannot compute", t.path, algo));
    if (*got != want)
      return rejected(where, fmt::format("{} {} is {}, but the targets metadata lists {} (tampered or corrupted)", t.path,
                                         algo, *got, want));
  }
  return std::move(r.data);
}

} // namespace kpg::tuf
