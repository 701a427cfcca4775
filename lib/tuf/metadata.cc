// SPDX-License-Identifier: GPL-2.0-only
#include "tuf/metadata.h"

#include <algorithm>
#include <ctime>
#include <set>

#include <fmt/format.h>

namespace kpg::tuf {

std::optional<i64> parse_time(const std::string &s) {
  // YYYY-MM-DDTHH:MM:SSZ, nothing else: no fractions, no offsets.
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
    return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18})
    if (s[i] < '0' || s[i] > '9')
      return std::nullopt;
  auto num = [&](size_t pos, size_t len) { return std::stoi(s.substr(pos, len)); };
  struct tm tm {};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
    return std::nullopt;
  time_t t = ::timegm(&tm);
  // timegm normalises 31 February into March; a date that does not round-trip is invalid.
  if (format_time(t) != s)
    return std::nullopt;
  return static_cast<i64>(t);
}

std::string format_time(i64 t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm;
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Key make_ed25519_key(const Ed25519Key &k) {
  Key key{"ed25519", "ed25519", k.public_hex(), json()};
  key.raw = {{"keytype", key.keytype}, {"scheme", key.scheme}, {"keyval", {{"public", key.public_value}}}};
  return key;
}

std::string compute_keyid(const Key &k) {
  json j = {{"keytype", k.keytype}, {"scheme", k.scheme}, {"keyval", {{"public", k.public_value}}}};
  return sha256_hex(*canonical(j));
}

// ---- parsing helpers ---------------------------------------------------------------------

namespace {

// Field readers over one JSON object: each records the first problem (with the field's
// path) and returns a sound default, so a parse reads like a list of fields and ends with
// one check.
struct Reader {
  const json &obj;
  std::string path;
  std::string &problem;
  std::set<std::string> known;

  Reader(const json &o, std::string p, std::string &prob) : obj(o), path(std::move(p)), problem(prob) {
    if (!obj.is_object())
      fail("", "must be an object");
  }
  void fail(const std::string &field, const std::string &what) {
    if (problem.empty())
      problem = fmt::format("{}{}{} {}", path, field.empty() ? "" : ".", field, what);
  }
  const json *get(const std::string &field, bool required) {
    known.insert(field);
    if (!obj.is_object())
      return nullptr;
    auto it = obj.find(field);
    if (it == obj.end()) {
      if (required)
        fail(field, "is missing");
      return nullptr;
    }
    return &*it;
  }
  std::string str(const std::string &field) {
    const json *v = get(field, true);
    if (v && !v->is_string()) {
      fail(field, "must be a string");
      return {};
    }
    return v ? v->get<std::string>() : std::string();
  }
  u64 uint(const std::string &field, u64 min, bool required = true, std::optional<u64> *present = nullptr) {
    const json *v = get(field, required);
    if (!v)
      return 0;
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<i64>() >= 0)) {
      fail(field, "must be a non-negative integer");
      return 0;
    }
    u64 n = v->get<u64>();
    if (n < min)
      fail(field, fmt::format("must be at least {}", min));
    if (present)
      *present = n;
    return n;
  }
  bool boolean(const std::string &field) {
    const json *v = get(field, true);
    if (v && !v->is_boolean()) {
      fail(field, "must be a boolean");
      return false;
    }
    return v ? v->get<bool>() : false;
  }
  const json &object(const std::string &field, bool required = true) {
    static const json empty = json::object();
    const json *v = get(field, required);
    if (!v)
      return empty;
    if (!v->is_object()) {
      fail(field, "must be an object");
      return empty;
    }
    return *v;
  }
  std::vector<std::string> strings(const std::string &field, bool required = true, bool unique = false) {
    std::vector<std::string> out;
    const json *v = get(field, required);
    if (!v)
      return out;
    if (!v->is_array()) {
      fail(field, "must be an array of strings");
      return out;
    }
    for (const json &e : *v) {
      if (!e.is_string()) {
        fail(field, "must be an array of strings");
        return out;
      }
      out.push_back(e.get<std::string>());
    }
    if (unique) {
      std::set<std::string> s(out.begin(), out.end());
      if (s.size() != out.size())
        fail(field, "lists an entry twice");
    }
    return out;
  }
  json rest() const {
    json extra = json::object();
    if (obj.is_object())
      for (auto it = obj.begin(); it != obj.end(); ++it)
        if (!known.count(it.key()))
          extra[it.key()] = it.value();
    return extra;
  }
};

void read_common(Reader &r, Common &c, const std::string &type) {
  c.type = r.str("_type");
  if (r.problem.empty() && c.type != type)
    r.fail("_type", fmt::format("is \"{}\", expected \"{}\"", c.type, type));
  c.spec_version = r.str("spec_version");
  if (r.problem.empty()) {
    std::string major = c.spec_version.substr(0, c.spec_version.find('.'));
    if (major != "1" || c.spec_version.find('.') == std::string::npos)
      r.fail("spec_version", fmt::format("\"{}\" is not a 1.x version of the specification", c.spec_version));
  }
  c.version = r.uint("version", 1);
  std::string expires = r.str("expires");
  if (r.problem.empty()) {
    auto t = parse_time(expires);
    if (!t)
      r.fail("expires", fmt::format("\"{}\" is not YYYY-MM-DDTHH:MM:SSZ", expires));
    else
      c.expires = *t;
  }
}

std::map<std::string, std::string> read_hashes(Reader &r, const std::string &field, bool required) {
  std::map<std::string, std::string> out;
  const json *v = r.get(field, required);
  if (!v)
    return out;
  if (!v->is_object() || v->empty()) {
    r.fail(field, "must be a non-empty object of algorithm: hex digest");
    return out;
  }
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it.value().is_string()) {
      r.fail(field + "." + it.key(), "must be a string");
      return out;
    }
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

MetaFile read_metafile(const json &j, const std::string &path, std::string &problem) {
  Reader r(j, path, problem);
  MetaFile m;
  m.version = r.uint("version", 1);
  std::optional<u64> len;
  r.uint("length", 0, false, &len);
  m.length = len;
  if (r.get("hashes", false))
    m.hashes = read_hashes(r, "hashes", false);
  m.extra = r.rest();
  return m;
}

Key read_key(const json &j, const std::string &path, std::string &problem) {
  Reader r(j, path, problem);
  Key k;
  k.keytype = r.str("keytype");
  k.scheme = r.str("scheme");
  Reader kv(r.object("keyval"), path + ".keyval", problem);
  // keyval.public of an ed25519 key: 64 hex digits. Other key types are kept unchecked.
  if (kv.get("public", true) && kv.obj.at("public").is_string())
    k.public_value = kv.obj.at("public").get<std::string>();
  else
    kv.fail("public", "must be a string");
  k.raw = j;
  return k;
}

std::map<std::string, Key> read_keys(const json &j, const std::string &path, std::string &problem) {
  std::map<std::string, Key> keys;
  for (auto it = j.begin(); it != j.end(); ++it)
    keys[it.key()] = read_key(it.value(), path + "." + it.key(), problem);
  return keys;
}

RoleKeys read_role_keys(Reader &r) {
  RoleKeys rk;
  rk.keyids = r.strings("keyids", true, true);
  rk.threshold = r.uint("threshold", 1);
  return rk;
}

} // namespace

static Error bad(const Location &where, const std::string &problem) {
  return make_error(where, "invalid metadata: " + problem, "REJECTED");
}

Expected<Envelope> parse_envelope(std::string_view file, const Location &where) {
  auto j = parse_strict(file, where);
  if (!j)
    return make_error(where, j.error().message, "REJECTED");
  std::string problem;
  Reader r(*j, "$", problem);
  Envelope env;
  if (const json *s = r.get("signed", true)) {
    if (!s->is_object())
      r.fail("signed", "must be an object");
    else
      env.signed_value = *s;
  }
  if (const json *sigs = r.get("signatures", true)) {
    if (!sigs->is_array())
      r.fail("signatures", "must be an array");
    else {
      std::set<std::string> seen;
      size_t i = 0;
      for (const json &e : *sigs) {
        Reader sr(e, fmt::format("$.signatures[{}]", i++), problem);
        Signature sig{sr.str("keyid"), sr.str("sig")};
        if (!problem.empty())
          break;
        if (!seen.insert(sig.keyid).second)
          sr.fail("keyid", fmt::format("{} signs twice (each key counts once; the file is invalid)", sig.keyid));
        env.signatures.push_back(std::move(sig));
      }
    }
  }
  if (!problem.empty())
    return bad(where, problem);
  auto bytes = canonical(env.signed_value);
  if (!bytes)
    return bad(where, bytes.error().message);
  env.signed_bytes = std::move(*bytes);
  return env;
}

Expected<Root> parse_root(const json &sv, const Location &where) {
  std::string problem;
  Reader r(sv, "signed", problem);
  Root root;
  read_common(r, root, "root");
  // tuf-js refuses a root without consistent_snapshot; we write it always and read it so.
  root.consistent_snapshot = r.boolean("consistent_snapshot");
  root.keys = read_keys(r.object("keys"), "signed.keys", problem);
  const json &roles = r.object("roles");
  for (const char *name : kTopLevelRoles) {
    if (!roles.contains(name)) {
      r.fail("roles", fmt::format("has no \"{}\" role", name));
      continue;
    }
    Reader rr(roles.at(name), std::string("signed.roles.") + name, problem);
    root.roles[name] = read_role_keys(rr);
  }
  for (auto it = roles.begin(); it != roles.end(); ++it)
    if (std::find(std::begin(kTopLevelRoles), std::end(kTopLevelRoles), it.key()) == std::end(kTopLevelRoles))
      r.fail("roles", fmt::format("has an unknown role \"{}\" (only root, targets, snapshot, timestamp)", it.key()));
  root.extra = r.rest();
  if (!problem.empty())
    return bad(where, problem);
  return root;
}

Expected<Targets> parse_targets(const json &sv, const Location &where) {
  std::string problem;
  Reader r(sv, "signed", problem);
  Targets t;
  read_common(r, t, "targets");
  const json &targets = r.object("targets");
  for (auto it = targets.begin(); it != targets.end() && problem.empty(); ++it) {
    Reader tr(it.value(), "signed.targets." + it.key(), problem);
    TargetFile f;
    f.path = it.key();
    f.length = tr.uint("length", 0);
    f.hashes = read_hashes(tr, "hashes", true);
    if (const json *c = tr.get("custom", false))
      f.custom = *c;
    f.extra = tr.rest();
    t.targets[f.path] = std::move(f);
  }
  if (const json *d = r.get("delegations", false)) {
    Reader dr(*d, "signed.delegations", problem);
    Delegations del;
    del.keys = read_keys(dr.object("keys"), "signed.delegations.keys", problem);
    const json *roles = dr.get("roles", true);
    if (roles && !roles->is_array())
      dr.fail("roles", "must be an array");
    std::set<std::string> names;
    for (size_t i = 0; roles && roles->is_array() && i < roles->size() && problem.empty(); i++) {
      Reader rr(roles->at(i), fmt::format("signed.delegations.roles[{}]", i), problem);
      DelegatedRole role;
      role.name = rr.str("name");
      role.keys = read_role_keys(rr);
      role.terminating = rr.boolean("terminating");
      if (rr.get("paths", false))
        role.paths = rr.strings("paths");
      if (rr.get("path_hash_prefixes", false))
        role.path_hash_prefixes = rr.strings("path_hash_prefixes");
      if (role.paths.has_value() == role.path_hash_prefixes.has_value())
        rr.fail("", "needs exactly one of paths and path_hash_prefixes");
      if (std::find(std::begin(kTopLevelRoles), std::end(kTopLevelRoles), role.name) != std::end(kTopLevelRoles))
        rr.fail("name", fmt::format("\"{}\" is a top-level role name", role.name));
      if (!names.insert(role.name).second)
        rr.fail("name", fmt::format("\"{}\" is delegated twice", role.name));
      role.extra = rr.rest();
      del.roles.push_back(std::move(role));
    }
    del.extra = dr.rest();
    t.delegations = std::move(del);
  }
  t.extra = r.rest();
  if (!problem.empty())
    return bad(where, problem);
  return t;
}

Expected<Snapshot> parse_snapshot(const json &sv, const Location &where) {
  std::string problem;
  Reader r(sv, "signed", problem);
  Snapshot s;
  read_common(r, s, "snapshot");
  const json &meta = r.object("meta");
  for (auto it = meta.begin(); it != meta.end() && problem.empty(); ++it)
    s.meta[it.key()] = read_metafile(it.value(), "signed.meta." + it.key(), problem);
  if (problem.empty() && !s.meta.count("targets.json"))
    r.fail("meta", "does not list targets.json");
  s.extra = r.rest();
  if (!problem.empty())
    return bad(where, problem);
  return s;
}

Expected<Timestamp> parse_timestamp(const json &sv, const Location &where) {
  std::string problem;
  Reader r(sv, "signed", problem);
  Timestamp t;
  read_common(r, t, "timestamp");
  const json &meta = r.object("meta");
  if (problem.empty() && (meta.size() != 1 || !meta.contains("snapshot.json")))
    r.fail("meta", "must list snapshot.json and nothing else");
  else if (problem.empty())
    t.snapshot = read_metafile(meta.at("snapshot.json"), "signed.meta.snapshot.json", problem);
  t.extra = r.rest();
  if (!problem.empty())
    return bad(where, problem);
  return t;
}

// ---- serialisation -----------------------------------------------------------------------

static json common_json(const Common &c) {
  json j = c.extra.is_object() ? c.extra : json::object();
  j["_type"] = c.type;
  j["spec_version"] = c.spec_version;
  j["version"] = c.version;
  j["expires"] = format_time(c.expires);
  return j;
}

json to_json(const MetaFile &m) {
  json j = m.extra.is_object() ? m.extra : json::object();
  j["version"] = m.version;
  if (m.length)
    j["length"] = *m.length;
  if (!m.hashes.empty())
    j["hashes"] = m.hashes;
  return j;
}

json to_json(const TargetFile &t) {
  json j = t.extra.is_object() ? t.extra : json::object();
  j["length"] = t.length;
  j["hashes"] = t.hashes;
  if (!t.custom.is_null())
    j["custom"] = t.custom;
  return j;
}

static json role_keys_json(const RoleKeys &rk) { return {{"keyids", rk.keyids}, {"threshold", rk.threshold}}; }

json to_json(const Root &r) {
  json j = common_json(r);
  j["_type"] = "root";
  j["consistent_snapshot"] = r.consistent_snapshot;
  json keys = json::object();
  for (const auto &[id, k] : r.keys)
    keys[id] = k.raw;
  j["keys"] = keys;
  json roles = json::object();
  for (const auto &[name, rk] : r.roles)
    roles[name] = role_keys_json(rk);
  j["roles"] = roles;
  return j;
}

json to_json(const Targets &t) {
  json j = common_json(t);
  j["_type"] = "targets";
  json targets = json::object();
  for (const auto &[path, f] : t.targets)
    targets[path] = to_json(f);
  j["targets"] = targets;
  if (t.delegations) {
    json d = t.delegations->extra.is_object() ? t.delegations->extra : json::object();
    json keys = json::object();
    for (const auto &[id, k] : t.delegations->keys)
      keys[id] = k.raw;
    d["keys"] = keys;
    d["roles"] = json::array();
    for (const DelegatedRole &r : t.delegations->roles) {
      json rj = r.extra.is_object() ? r.extra : json::object();
      rj["name"] = r.name;
      rj["keyids"] = r.keys.keyids;
      rj["threshold"] = r.keys.threshold;
      rj["terminating"] = r.terminating;
      if (r.paths)
        rj["paths"] = *r.paths;
      if (r.path_hash_prefixes)
        rj["path_hash_prefixes"] = *r.path_hash_prefixes;
      d["roles"].push_back(rj);
    }
    j["delegations"] = d;
  }
  return j;
}

json to_json(const Snapshot &s) {
  json j = common_json(s);
  j["_type"] = "snapshot";
  json meta = json::object();
  for (const auto &[name, m] : s.meta)
    meta[name] = to_json(m);
  j["meta"] = meta;
  return j;
}

json to_json(const Timestamp &t) {
  json j = common_json(t);
  j["_type"] = "timestamp";
  j["meta"] = {{"snapshot.json", to_json(t.snapshot)}};
  return j;
}

// ---- delegation paths --------------------------------------------------------------------

// fnmatch-like, but '*' and '?' never match '/' (the spec's rule, as python-tuf implements
// it): "x86_64/*" matches "x86_64/a.ko", not "x86_64/6.1/a.ko".
static bool glob_match(std::string_view pat, std::string_view s) {
  if (pat.empty())
    return s.empty();
  if (pat[0] == '*') {
    for (size_t i = 0; i <= s.size(); i++) {
      if (glob_match(pat.substr(1), s.substr(i)))
        return true;
      if (i < s.size() && s[i] == '/')
        break;
    }
    return false;
  }
  if (s.empty())
    return false;
  if (pat[0] == '?' ? s[0] != '/' : pat[0] == s[0])
    return glob_match(pat.substr(1), s.substr(1));
  return false;
}

bool DelegatedRole::matches(const std::string &target_path) const {
  if (paths) {
    for (const std::string &p : *paths)
      if (glob_match(p, target_path))
        return true;
    return false;
  }
  if (path_hash_prefixes) {
    std::string h = sha256_hex(target_path);
    for (const std::string &p : *path_hash_prefixes)
      if (h.starts_with(p))
        return true;
  }
  return false;
}

// ---- signatures ---------------------------------------------------------------------------

Expected<void> verify_threshold(const Envelope &env, const std::map<std::string, Key> &keys, const RoleKeys &role,
                                const std::string &role_name, const Location &where) {
  std::set<std::string> counted_keyids, counted_material;
  const std::span<const u8> msg(reinterpret_cast<const u8 *>(env.signed_bytes.data()), env.signed_bytes.size());
  for (const std::string &keyid : role.keyids) {
    auto k = keys.find(keyid);
    if (k == keys.end() || !k->second.is_ed25519())
      continue;
    auto sig = std::find_if(env.signatures.begin(), env.signatures.end(),
                            [&](const Signature &s) { return s.keyid == keyid; });
    if (sig == env.signatures.end())
      continue;
    auto pub = Ed25519Key::from_public_hex(k->second.public_value, where);
    if (!pub || !pub->verify_hex(msg, sig->sig))
      continue;
    // One key listed under two keyids must not count twice (go-tuf PR #733).
    std::string material = pub->public_hex();
    if (counted_material.count(material))
      continue;
    counted_keyids.insert(keyid);
    counted_material.insert(material);
  }
  if (counted_keyids.size() >= role.threshold)
    return {};
  return make_error(where,
                    fmt::format("{} role: valid signatures of {} of the {} required key(s) (the file is unsigned, "
                                "tampered with, or signed with a key the trusted root does not name)",
                                role_name, counted_keyids.size(), role.threshold),
                    "REJECTED");
}

static Expected<json> signatures_json(const std::string &payload, const std::vector<SigningKey> &keys, json sigs) {
  const std::span<const u8> msg(reinterpret_cast<const u8 *>(payload.data()), payload.size());
  for (const SigningKey &k : keys) {
    auto s = k.key->sign_hex(msg);
    if (!s)
      return std::move(s).take_error();
    bool replaced = false;
    for (json &e : sigs)
      if (e.value("keyid", "") == k.keyid) {
        e["sig"] = *s;
        replaced = true;
      }
    if (!replaced)
      sigs.push_back({{"keyid", k.keyid}, {"sig", *s}});
  }
  return sigs;
}

Expected<std::string> sign_metadata(const json &signed_value, const std::vector<SigningKey> &keys) {
  auto payload = canonical(signed_value);
  if (!payload)
    return std::move(payload).take_error();
  auto sigs = signatures_json(*payload, keys, json::array());
  if (!sigs)
    return std::move(sigs).take_error();
  json env = {{"signatures", *sigs}, {"signed", signed_value}};
  return env.dump() + "\n";
}

Expected<std::string> add_signatures(const Envelope &env, const std::vector<SigningKey> &keys) {
  json old = json::array();
  for (const Signature &s : env.signatures)
    old.push_back({{"keyid", s.keyid}, {"sig", s.sig}});
  auto sigs = signatures_json(env.signed_bytes, keys, old);
  if (!sigs)
    return std::move(sigs).take_error();
  json out = {{"signatures", *sigs}, {"signed", env.signed_value}};
  return out.dump() + "\n";
}

} // namespace kpg::tuf
