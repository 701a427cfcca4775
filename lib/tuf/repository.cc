// SPDX-License-Identifier: GPL-2.0-only
#include "tuf/repository.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "support/file.h"

namespace fs = std::filesystem;

namespace kpg::tuf {

i64 &ExpiryPeriods::of(const std::string &role) {
  if (role == "root")
    return root;
  if (role == "targets")
    return targets;
  if (role == "snapshot")
    return snapshot;
  return timestamp;
}
i64 ExpiryPeriods::of(const std::string &role) const { return const_cast<ExpiryPeriods *>(this)->of(role); }

std::optional<i64> parse_duration(const std::string &s) {
  if (s.size() < 2)
    return std::nullopt;
  i64 unit = 0;
  switch (s.back()) {
  case 's': unit = 1; break;
  case 'm': unit = 60; break;
  case 'h': unit = 3600; break;
  case 'd': unit = 86400; break;
  default: return std::nullopt;
  }
  std::string digits = s.substr(0, s.size() - 1);
  if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit))
    return std::nullopt;
  i64 n = std::stoll(digits) * unit;
  return n > 0 ? std::optional<i64>(n) : std::nullopt;
}

static bool is_role(const std::string &r) {
  return std::find(std::begin(kTopLevelRoles), std::end(kTopLevelRoles), r) != std::end(kTopLevelRoles);
}

static MetaFile meta_of(u64 version, const std::string &bytes) {
  MetaFile m;
  m.version = version;
  m.length = bytes.size();
  m.hashes["sha256"] = sha256_hex(bytes);
  return m;
}

// A target path that is safe as a file name below DIR/targets and as a URL path, and that
// is the same key for every canonical-JSON encoder: printable ASCII, relative, no empty,
// "." or ".." segments.
static std::optional<std::string> bad_target_path(const std::string &path) {
  if (path.empty() || path.front() == '/' || path.back() == '/')
    return "must be a relative path naming a file";
  for (char c : path)
    if (c <= ' ' || c > '~' || c == '\\')
      return "may hold printable ASCII characters only (no spaces or backslashes)";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    std::string seg = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (seg.empty() || seg == "." || seg == "..")
      return "has an empty, \".\" or \"..\" component";
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return std::nullopt;
}

static std::string abs_path(const std::string &p) {
  std::error_code ec;
  fs::path a = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return a.string();
}

Repository::Repository(Repository &&o) noexcept
    : dir_(std::move(o.dir_)), keydir_(std::move(o.keydir_)), lock_fd_(o.lock_fd_), periods_(o.periods_),
      root_(std::move(o.root_)), targets_(std::move(o.targets_)), snapshot_(std::move(o.snapshot_)),
      timestamp_(std::move(o.timestamp_)), snapshot_bytes_(std::move(o.snapshot_bytes_)),
      targets_bytes_(std::move(o.targets_bytes_)), targets_dirty_(o.targets_dirty_), keys_(std::move(o.keys_)) {
  o.lock_fd_ = -1;
}
Repository &Repository::operator=(Repository &&o) noexcept {
  if (this != &o) {
    if (lock_fd_ >= 0)
      ::close(lock_fd_);
    dir_ = std::move(o.dir_);
    keydir_ = std::move(o.keydir_);
    lock_fd_ = o.lock_fd_;
    o.lock_fd_ = -1;
    periods_ = o.periods_;
    root_ = std::move(o.root_);
    targets_ = std::move(o.targets_);
    snapshot_ = std::move(o.snapshot_);
    timestamp_ = std::move(o.timestamp_);
    snapshot_bytes_ = std::move(o.snapshot_bytes_);
    targets_bytes_ = std::move(o.targets_bytes_);
    targets_dirty_ = o.targets_dirty_;
    keys_ = std::move(o.keys_);
  }
  return *this;
}
Repository::~Repository() {
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
}

// The key directory holds the only secrets; a publisher on a shared machine must not leak
// them through a permissive umask or a static server pointed one level too high.
static Expected<int> open_keydir(const std::string &dir, const std::string &keydir, bool create) {
  const std::string a = abs_path(dir), k = abs_path(keydir);
  if (k == a || k.starts_with(a + "/"))
    return make_error(Location(keydir), fmt::format("the key directory is inside the repository {}: a static server "
                                                    "would publish the private keys; keep it elsewhere",
                                                    dir));
  if (create) {
    std::error_code ec;
    fs::create_directories(keydir, ec);
    if (ec)
      return make_error(Location(keydir), "cannot create the key directory: " + ec.message());
    ::chmod(keydir.c_str(), 0700);
  }
  struct stat st;
  if (::stat(keydir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(Location(keydir), "no such key directory (give --keys, or run `kpatch-gen repo init`)");
  if (st.st_mode & 077)
    return make_error(Location(keydir), fmt::format("the key directory has mode {:o}; it must be accessible by its "
                                                    "owner only (chmod 700)",
                                                    st.st_mode & 0777));
  std::string lock = keydir + "/lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(Location(lock), std::string("cannot open the lock file: ") + std::strerror(errno));
  if (::flock(fd, LOCK_EX) != 0) {
    ::close(fd);
    return make_error(Location(lock), std::string("cannot lock: ") + std::strerror(errno));
  }
  return fd;
}

Expected<std::string> Repository::generate_key() {
  auto k = Ed25519Key::generate();
  if (!k)
    return std::move(k).take_error();
  auto pem = k->private_pem();
  if (!pem)
    return std::move(pem).take_error();
  std::string keyid = compute_keyid(make_ed25519_key(*k));
  std::string path = keydir_ + "/" + keyid + ".pem";
  if (auto w = write_text_file_atomic(path, *pem, 0600); !w)
    return std::move(w).take_error();
  keys_[keyid] = std::make_unique<Ed25519Key>(std::move(*k));
  return keyid;
}

Expected<std::vector<SigningKey>> Repository::signing_keys(const Root &root, const std::string &role) {
  const RoleKeys &rk = root.roles.at(role);
  std::vector<SigningKey> out;
  for (const std::string &id : rk.keyids) {
    if (!keys_.count(id)) {
      std::string path = keydir_ + "/" + id + ".pem";
      if (::access(path.c_str(), F_OK) != 0)
        continue;
      auto pem = read_text_file(path);
      if (!pem)
        return std::move(pem).take_error();
      auto k = Ed25519Key::from_private_pem(*pem, Location(path));
      if (!k)
        return std::move(k).take_error();
      if (compute_keyid(make_ed25519_key(*k)) != id)
        return make_error(Location(path), "the key in this file does not have the keyid its name says");
      keys_[id] = std::make_unique<Ed25519Key>(std::move(*k));
    }
    out.push_back({id, keys_[id].get()});
  }
  if (out.size() < rk.threshold)
    return make_error(Location(keydir_), fmt::format("only {} of the {} {} key(s) needed to sign are in the key "
                                                     "directory",
                                                     out.size(), rk.threshold, role));
  return out;
}

Expected<void> Repository::write_metadata(const std::string &name, const std::string &data) {
  return write_text_file_atomic(dir_ + "/metadata/" + name, data, 0644);
}

Expected<void> Repository::save_periods() {
  json j = {{"format", "kpatch-gen-tuf-publisher/1"},
            {"expires_seconds",
             {{"root", periods_.root}, {"targets", periods_.targets}, {"snapshot", periods_.snapshot},
              {"timestamp", periods_.timestamp}}}};
  return write_text_file_atomic(keydir_ + "/publisher.json", j.dump(2) + "\n", 0600);
}

Expected<void> Repository::write_root(Root next, const Root &signer, i64 now) {
  next.version = root_.version + 1;
  next.expires = now + periods_.root;
  // Signed by a threshold of the keys clients trust now, and by a threshold of the keys it
  // names: both are checked by every client walking the root chain.
  auto old_keys = signing_keys(signer, "root");
  if (!old_keys)
    return std::move(old_keys).take_error();
  auto new_keys = signing_keys(next, "root");
  if (!new_keys)
    return std::move(new_keys).take_error();
  std::vector<SigningKey> all = *old_keys;
  for (const SigningKey &k : *new_keys)
    if (std::none_of(all.begin(), all.end(), [&](const SigningKey &o) { return o.keyid == k.keyid; }))
      all.push_back(k);
  auto data = sign_metadata(to_json(next), all);
  if (!data)
    return std::move(data).take_error();
  if (auto w = write_metadata(fmt::format("{}.root.json", next.version), *data); !w)
    return w;
  root_ = std::move(next);
  return {};
}

Expected<void> Repository::write_targets(i64 now) {
  auto keys = signing_keys(root_, "targets");
  if (!keys)
    return std::move(keys).take_error();
  targets_.version++;
  targets_.expires = now + periods_.targets;
  auto data = sign_metadata(to_json(targets_), *keys);
  if (!data)
    return std::move(data).take_error();
  if (auto w = write_metadata(fmt::format("{}.targets.json", targets_.version), *data); !w)
    return w;
  targets_bytes_ = std::move(*data);
  targets_dirty_ = false;
  return {};
}

Expected<void> Repository::write_snapshot(i64 now) {
  auto keys = signing_keys(root_, "snapshot");
  if (!keys)
    return std::move(keys).take_error();
  snapshot_.version++;
  snapshot_.expires = now + periods_.snapshot;
  snapshot_.meta["targets.json"] = meta_of(targets_.version, targets_bytes_);
  auto data = sign_metadata(to_json(snapshot_), *keys);
  if (!data)
    return std::move(data).take_error();
  if (auto w = write_metadata(fmt::format("{}.snapshot.json", snapshot_.version), *data); !w)
    return w;
  snapshot_bytes_ = std::move(*data);
  return {};
}

Expected<void> Repository::write_timestamp(i64 now) {
  auto keys = signing_keys(root_, "timestamp");
  if (!keys)
    return std::move(keys).take_error();
  timestamp_.version++;
  timestamp_.expires = now + periods_.timestamp;
  timestamp_.snapshot = meta_of(snapshot_.version, snapshot_bytes_);
  auto data = sign_metadata(to_json(timestamp_), *keys);
  if (!data)
    return std::move(data).take_error();
  return write_metadata("timestamp.json", *data);
}

Expected<Repository> Repository::init(const std::string &dir, const std::string &keydir, const InitOptions &opts,
                                      i64 now) {
  if (opts.root_keys < 1 || opts.root_threshold < 1 || opts.root_threshold > opts.root_keys)
    return make_error(Location(dir), fmt::format("a root threshold of {} of {} key(s) cannot be met", opts.root_threshold,
                                                 opts.root_keys));
  std::error_code ec;
  if (fs::exists(dir + "/metadata/timestamp.json", ec) || fs::exists(dir + "/metadata/1.root.json", ec))
    return make_error(Location(dir), "already a repository (metadata/1.root.json exists)");
  for (const char *sub : {"/metadata", "/targets"}) {
    fs::create_directories(dir + sub, ec);
    if (ec)
      return make_error(Location(dir + sub), "cannot create directory: " + ec.message());
  }
  Repository repo;
  repo.dir_ = dir;
  repo.keydir_ = keydir;
  repo.periods_ = opts.expires;
  auto fd = open_keydir(dir, keydir, true);
  if (!fd)
    return std::move(fd).take_error();
  repo.lock_fd_ = *fd;
  for (const auto &e : fs::directory_iterator(keydir, ec))
    if (e.path().extension() == ".pem")
      return make_error(Location(keydir), "the key directory already holds keys; give an empty or new one");

  Root root;
  root.type = "root";
  root.expires = now + opts.expires.root;
  for (const char *role : kTopLevelRoles) {
    u32 n = std::string(role) == "root" ? opts.root_keys : 1;
    RoleKeys rk;
    rk.threshold = std::string(role) == "root" ? opts.root_threshold : 1;
    for (u32 i = 0; i < n; i++) {
      auto id = repo.generate_key();
      if (!id)
        return std::move(id).take_error();
      root.keys[*id] = make_ed25519_key(*repo.keys_[*id]);
      rk.keyids.push_back(*id);
    }
    root.roles[role] = rk;
  }
  auto root_keys = repo.signing_keys(root, "root");
  if (!root_keys)
    return std::move(root_keys).take_error();
  auto root_data = sign_metadata(to_json(root), *root_keys);
  if (!root_data)
    return std::move(root_data).take_error();
  repo.root_ = root;
  repo.targets_.type = "targets";
  repo.targets_.version = 0; // write_targets() publishes version 1
  repo.snapshot_.type = "snapshot";
  repo.snapshot_.version = 0;
  repo.timestamp_.type = "timestamp";
  repo.timestamp_.version = 0;
  if (auto w = repo.write_metadata("1.root.json", *root_data); !w)
    return std::move(w).take_error();
  if (auto w = repo.save_periods(); !w)
    return std::move(w).take_error();
  if (auto w = repo.write_targets(now); !w)
    return std::move(w).take_error();
  if (auto w = repo.write_snapshot(now); !w)
    return std::move(w).take_error();
  if (auto w = repo.write_timestamp(now); !w)
    return std::move(w).take_error();
  return repo;
}

Expected<Repository> Repository::open(const std::string &dir, const std::string &keydir) {
  Repository repo;
  repo.dir_ = dir;
  repo.keydir_ = keydir;
  auto fd = open_keydir(dir, keydir, false);
  if (!fd)
    return std::move(fd).take_error();
  repo.lock_fd_ = *fd;
  if (auto l = repo.load(); !l)
    return std::move(l).take_error();
  return repo;
}

Expected<void> Repository::load() {
  // Periods: the publisher's choice at init (or later), not part of the metadata.
  if (auto p = read_text_file(keydir_ + "/publisher.json")) {
    auto j = parse_strict(*p, Location(keydir_ + "/publisher.json"));
    if (j && j->contains("expires_seconds") && (*j)["expires_seconds"].is_object())
      for (const char *role : kTopLevelRoles)
        if (auto v = (*j)["expires_seconds"].find(role); v != (*j)["expires_seconds"].end() && v->is_number_unsigned())
          periods_.of(role) = v->get<i64>();
  }
  const std::string md = dir_ + "/metadata";
  u64 newest = 0;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(md, ec)) {
    std::string n = e.path().filename().string();
    if (!n.ends_with(".root.json"))
      continue;
    std::string v = n.substr(0, n.size() - strlen(".root.json"));
    if (!v.empty() && v.size() < 10 && std::all_of(v.begin(), v.end(), ::isdigit))
      newest = std::max<u64>(newest, std::stoull(v));
  }
  if (ec || newest == 0)
    return make_error(Location(md), "not a repository: no N.root.json (run `kpatch-gen repo init`)");
  auto read_env = [&](const std::string &name, std::string *bytes) -> Expected<Envelope> {
    auto text = read_text_file(md + "/" + name);
    if (!text)
      return std::move(text).take_error();
    if (bytes)
      *bytes = *text;
    return parse_envelope(*text, Location(md + "/" + name));
  };
  auto re = read_env(fmt::format("{}.root.json", newest), nullptr);
  if (!re)
    return std::move(re).take_error();
  auto root = parse_root(re->signed_value, Location(fmt::format("{}/{}.root.json", md, newest)));
  if (!root)
    return std::move(root).take_error();
  root_ = std::move(*root);
  auto te = read_env("timestamp.json", nullptr);
  if (!te)
    return std::move(te).take_error();
  auto ts = parse_timestamp(te->signed_value, Location(md + "/timestamp.json"));
  if (!ts)
    return std::move(ts).take_error();
  timestamp_ = std::move(*ts);
  std::string sname = fmt::format("{}.snapshot.json", timestamp_.snapshot.version);
  auto se = read_env(sname, &snapshot_bytes_);
  if (!se)
    return std::move(se).take_error();
  auto sn = parse_snapshot(se->signed_value, Location(md + "/" + sname));
  if (!sn)
    return std::move(sn).take_error();
  snapshot_ = std::move(*sn);
  std::string tname = fmt::format("{}.targets.json", snapshot_.meta.at("targets.json").version);
  auto tge = read_env(tname, &targets_bytes_);
  if (!tge)
    return std::move(tge).take_error();
  auto tg = parse_targets(tge->signed_value, Location(md + "/" + tname));
  if (!tg)
    return std::move(tg).take_error();
  targets_ = std::move(*tg);
  return {};
}

Expected<TargetFile> Repository::add_target(const std::string &path, std::span<const u8> data, const json &custom) {
  if (auto bad = bad_target_path(path))
    return make_error(Location(path), "target path " + *bad);
  TargetFile t;
  t.path = path;
  t.length = data.size();
  t.hashes["sha256"] = sha256_hex(data);
  t.custom = custom;
  // Consistent snapshots: the file is named by its hash, so a client that read an older
  // targets.json still finds the bytes it expects, and a new version never overwrites them.
  std::string rel_dir, base = path;
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    rel_dir = path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  std::string out_dir = dir_ + "/targets" + (rel_dir.empty() ? "" : "/" + rel_dir);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec)
    return make_error(Location(out_dir), "cannot create directory: " + ec.message());
  if (auto w = write_file_atomic(out_dir + "/" + t.hashes["sha256"] + "." + base, data, 0644); !w)
    return std::move(w).take_error();
  targets_.targets[path] = t;
  targets_dirty_ = true;
  return t;
}

Expected<void> Repository::set_custom(const std::string &path, const json &custom) {
  auto it = targets_.targets.find(path);
  if (it == targets_.targets.end())
    return make_error(Location(path), "no such target in the repository");
  it->second.custom = custom;
  targets_dirty_ = true;
  return {};
}

Expected<void> Repository::publish(i64 now) {
  if (targets_dirty_)
    if (auto w = write_targets(now); !w)
      return w;
  if (auto w = write_snapshot(now); !w)
    return w;
  return write_timestamp(now);
}

Expected<std::vector<std::string>> Repository::refresh(i64 now, bool force) {
  std::vector<std::string> done;
  auto due = [&](const Common &c, const std::string &role) {
    return force || c.expires - now < periods_.of(role) / 2;
  };
  if (due(root_, "root")) {
    if (auto w = write_root(root_, root_, now); !w)
      return std::move(w).take_error();
    done.push_back("root");
  }
  bool t = due(targets_, "targets") || targets_dirty_;
  bool s = t || due(snapshot_, "snapshot");
  bool ts = s || due(timestamp_, "timestamp");
  if (t) {
    if (auto w = write_targets(now); !w)
      return std::move(w).take_error();
    done.push_back("targets");
  }
  if (s) {
    if (auto w = write_snapshot(now); !w)
      return std::move(w).take_error();
    done.push_back("snapshot");
  }
  if (ts) {
    if (auto w = write_timestamp(now); !w)
      return std::move(w).take_error();
    done.push_back("timestamp");
  }
  return done;
}

Expected<std::string> Repository::rotate_key(const std::string &role, const std::optional<std::string> &old_keyid,
                                             i64 now) {
  if (!is_role(role))
    return make_error(Location(dir_), fmt::format("no role \"{}\" (root, targets, snapshot or timestamp)", role));
  const RoleKeys &rk = root_.roles.at(role);
  std::string old;
  if (old_keyid) {
    if (std::find(rk.keyids.begin(), rk.keyids.end(), *old_keyid) == rk.keyids.end())
      return make_error(Location(dir_), fmt::format("{} is not a {} key", *old_keyid, role));
    old = *old_keyid;
  } else if (rk.keyids.size() == 1) {
    old = rk.keyids.front();
  } else {
    return make_error(Location(dir_), fmt::format("the {} role has {} keys: say which one to replace (--keyid)", role,
                                                  rk.keyids.size()));
  }
  // Load the current root keys now: the old root key must sign the new root even when it
  // is the one being replaced.
  if (auto k = signing_keys(root_, "root"); !k)
    return std::move(k).take_error();
  auto fresh = generate_key();
  if (!fresh)
    return std::move(fresh).take_error();
  Root next = root_;
  RoleKeys &nrk = next.roles.at(role);
  std::replace(nrk.keyids.begin(), nrk.keyids.end(), old, *fresh);
  next.keys[*fresh] = make_ed25519_key(*keys_[*fresh]);
  bool still_used = false;
  for (const auto &[name, r] : next.roles)
    still_used |= std::find(r.keyids.begin(), r.keyids.end(), old) != r.keyids.end();
  if (!still_used)
    next.keys.erase(old);
  const Root current = root_;
  if (auto w = write_root(std::move(next), current, now); !w)
    return std::move(w).take_error();
  // Metadata signed by the replaced key no longer verifies: sign it again with the new one.
  // A new timestamp or snapshot key also lets clients that saw versions made with a stolen
  // key recover (they drop those when the key changes).
  bool t = role == "targets", s = t || role == "snapshot", ts = s || role == "timestamp";
  if (t)
    if (auto w = write_targets(now); !w)
      return std::move(w).take_error();
  if (s)
    if (auto w = write_snapshot(now); !w)
      return std::move(w).take_error();
  if (ts)
    if (auto w = write_timestamp(now); !w)
      return std::move(w).take_error();
  if (!still_used) {
    std::error_code ec;
    fs::create_directories(keydir_ + "/retired", ec);
    fs::rename(keydir_ + "/" + old + ".pem", keydir_ + "/retired/" + old + ".pem", ec);
    if (ec)
      return make_error(Location(keydir_ + "/" + old + ".pem"), "rotated, but cannot move the old key to retired/: " +
                                                                    ec.message());
    keys_.erase(old);
  }
  return *fresh;
}

} // namespace kpg::tuf
