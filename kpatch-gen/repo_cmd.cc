// SPDX-License-Identifier: GPL-2.0-only
//
// `kpatch-gen repo`: publish live patch modules as patch levels in a signed repository that
// any static HTTP server can serve, following The Update Framework (TUF). The TUF parts are in
// lib/tuf, the patch-level parts in kpatch-gen/repo/publish.cc and lib/patchrepo.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "patchrepo/levels.h"
#include "repo/publish.h"
#include "support/file.h"
#include "tuf/client.h"
#include "tuf/files.h"
#include "tuf/repository.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace kpg::cli {

static const char *kRepoFooter = R"(A repository is plain static files, in TUF's layout:
  DIR/metadata/N.root.json, N.targets.json, N.snapshot.json, timestamp.json
  DIR/targets/RELEASE/BUILD_ID/LEVEL/<sha256>.MODULE.ko
Serve DIR with any static HTTP server, object store or CDN; it must answer 404 (or 403) for
files that do not exist and must not cache timestamp.json. The private keys stay in the key
directory (--keys, default DIR.keys; mode 0700, keys 0600), which must not be inside DIR.
Copy DIR/metadata/1.root.json to each machine: `kpatch-agent install --trusted-root` pins it.

Each kernel build (release + GNU build ID) has patch levels 1, 2, 3...; each level is one
cumulative, replace-mode module, so a machine goes from any level to any other in one
transition. Channels (dev, test, stable...) say which machines see a level: `add --channel`,
then `promote` it to the next channel when it has proven itself there.

Expiry (TUF's freeze-attack protection): root 365d, targets 90d, snapshot 7d, timestamp 1d
by default (--expires ROLE=DURATION on init and refresh). Run `kpatch-gen repo refresh DIR`
at least daily (cron or a systemd timer): it re-signs what has less than half its period left.

Exit codes:
  0  done
  1  error (the message says which file and why)
  2  usage error
  3  verify: the repository fails the client's checks)";

static std::string default_keys(const std::string &dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/')
    d.pop_back();
  return d + ".keys";
}

static i64 now_seconds() { return static_cast<i64>(std::time(nullptr)); }

CLI::App *add_repo_command(CLI::App &app, RepoArgs &a) {
  CLI::App *c = app.add_subcommand("repo", "publish modules as patch levels in a signed (TUF) repository");
  c->footer(kRepoFooter);
  c->require_subcommand(1);
  auto dir = [&](CLI::App *s) {
    s->add_option("DIR", a.dir, "the repository directory (what the web server serves)")->required();
    s->add_option("--keys", a.keys, "the private key directory (default DIR.keys)");
  };
  auto expires = [&](CLI::App *s) {
    s->add_option("--expires", a.expires, "ROLE=DURATION, e.g. timestamp=1d, snapshot=7d (repeatable)");
  };
  a.init = c->add_subcommand("init", "create a repository: keys, and the first metadata");
  dir(a.init);
  expires(a.init);
  a.init->add_option("--root-keys", a.root_keys, "how many root keys to generate (default 1)")->check(CLI::Range(1, 16));
  a.init->add_option("--root-threshold", a.root_threshold, "how many of them must sign a new root (default 1)")
      ->check(CLI::Range(1, 16));

  a.add = c->add_subcommand("add", "publish a module as the next patch level of its kernel build");
  dir(a.add);
  a.add->add_option("MODULE", a.module, "the module (.ko) built by kpatch-gen build")->required()->check(CLI::ExistingFile);
  a.add->add_option("--report", a.report, "its build report (default: MODULE with .json instead of .ko)");
  a.add->add_option("--channel", a.channels, "channel(s) to publish it in (default stable; repeatable)");
  a.add->add_option("--cve", a.cves, "ID[:CVSS] fixed by this module, in addition to the report's (repeatable)");
  a.add->add_option("--cve-file", a.cve_file, "a CVE metadata file: [{\"id\": \"CVE-...\", \"cvss\": 7.8}, ...]");

  a.promote = c->add_subcommand("promote", "publish a level in one more channel");
  a.demote = c->add_subcommand("demote", "take a level out of a channel");
  for (CLI::App *s : {a.promote, a.demote}) {
    dir(s);
    s->add_option("LEVEL", a.level, "the patch level")->required();
    s->add_option("--channel", a.channels, "the channel")->required()->expected(1);
    s->add_option("--kernel", a.kernel, "RELEASE or BUILD_ID, when several kernel builds have this level");
  }

  a.refresh = c->add_subcommand("refresh", "re-sign metadata that expires within half its validity period");
  dir(a.refresh);
  expires(a.refresh);
  a.refresh->add_flag("--force", a.force, "re-sign every role now");

  a.rotate = c->add_subcommand("rotate-key", "replace a role's key; the new root is signed by the old and new keys");
  dir(a.rotate);
  a.rotate->add_option("ROLE", a.role, "root, targets, snapshot or timestamp")->required();
  a.rotate->add_option("--keyid", a.keyid, "the key to replace, when the role has several");

  a.list = c->add_subcommand("list", "kernel builds, levels, channels, CVEs, and when each role expires");
  dir(a.list);
  a.list->add_flag("--json", a.json, "machine-readable output");

  a.verify = c->add_subcommand("verify", "run a client's checks over the repository and every target");
  a.verify->add_option("DIR", a.dir, "the repository directory")->required();
  a.verify->add_option("--root", a.root_file, "trusted root to start from (default DIR/metadata/1.root.json)");
  return c;
}

namespace {

ExitCode fail(const std::string &msg, ExitCode code = ExitCode::Failed) {
  std::fprintf(stderr, "kpatch-gen repo: error: %s\n", msg.c_str());
  return code;
}

void say(const std::string &msg) { std::fprintf(stdout, "kpatch-gen repo: %s\n", msg.c_str()); }

std::string cve_list(const patchrepo::Level &l) {
  std::vector<std::string> v;
  for (const patchrepo::Cve &c : l.cves)
    v.push_back(c.score10 ? fmt::format("{} {} {}", c.id, c.score_text(), c.severity()) : c.id);
  return v.empty() ? "none" : fmt::format("{}", fmt::join(v, ", "));
}

std::string versions(const tuf::Repository &r) {
  return fmt::format("root v{}, targets v{}, snapshot v{}, timestamp v{}", r.root().version, r.targets().version,
                     r.snapshot().version, r.timestamp().version);
}

bool apply_expires(tuf::Repository *r, tuf::InitOptions *o, const std::vector<std::string> &specs, std::string &err) {
  for (const std::string &s : specs) {
    auto eq = s.find('=');
    std::string role = s.substr(0, eq);
    auto d = eq == std::string::npos ? std::nullopt : tuf::parse_duration(s.substr(eq + 1));
    if (!d || (role != "root" && role != "targets" && role != "snapshot" && role != "timestamp")) {
      err = fmt::format("--expires {}: expected ROLE=DURATION (root|targets|snapshot|timestamp = 30s, 15m, 6h, 7d)", s);
      return false;
    }
    if (r)
      r->set_period(role, *d);
    if (o)
      o->expires.of(role) = *d;
  }
  return true;
}

ExitCode run_verify(const RepoArgs &a) {
  const std::string md = a.dir + "/metadata";
  std::string root_file = a.root_file.empty() ? md + "/1.root.json" : a.root_file;
  auto root = read_text_file(root_file);
  if (!root)
    return fail(root.error().str());
  std::string tmp = (fs::temp_directory_path() / fmt::format("kpg-repo-verify-{}", ::getpid())).string();
  fs::create_directories(tmp);
  struct Rm {
    std::string p;
    ~Rm() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } rm{tmp};
  tuf::DirStore store(tmp);
  if (auto w = store.write("root.json", *root); !w)
    return fail(w.error().str());
  tuf::FileFetcher fetcher;
  tuf::Updater u(fetcher, store, md, a.dir + "/targets", now_seconds());
  if (auto r = u.refresh(); !r)
    return fail(r.error().str(), r.error().code == tuf::kRejected ? ExitCode::RepoInvalid : ExitCode::Failed);
  int bad = 0;
  for (const auto &[path, t] : u.targets().targets) {
    auto d = u.download_target(t);
    if (!d) {
      std::fprintf(stderr, "kpatch-gen repo: error: %s\n", d.error().str().c_str());
      bad++;
    }
  }
  if (bad)
    return fail(fmt::format("{} of {} target(s) failed verification", bad, u.targets().targets.size()), ExitCode::RepoInvalid);
  say(fmt::format("{}: valid: root v{} ({} rotation(s) from {}), timestamp v{} (expires {}), snapshot v{}, targets v{}; "
                  "{} target(s) verified",
                  a.dir, u.root().version, u.stats().root_rotations, root_file, u.timestamp().version,
                  tuf::format_time(u.timestamp().expires), u.snapshot().version, u.targets().version,
                  u.targets().targets.size()));
  return ExitCode::Ok;
}

ExitCode run_list(const RepoArgs &a, tuf::Repository &r) {
  std::vector<std::string> problems;
  std::vector<patchrepo::Level> levels = repo::levels_of(r, &problems);
  if (a.json) {
    json out = {{"versions",
                 {{"root", r.root().version}, {"targets", r.targets().version}, {"snapshot", r.snapshot().version},
                  {"timestamp", r.timestamp().version}}},
                {"expires",
                 {{"root", tuf::format_time(r.root().expires)}, {"targets", tuf::format_time(r.targets().expires)},
                  {"snapshot", tuf::format_time(r.snapshot().expires)},
                  {"timestamp", tuf::format_time(r.timestamp().expires)}}},
                {"levels", json::array()},
                {"problems", problems}};
    for (const patchrepo::Level &l : levels) {
      json lj = patchrepo::level_custom(l)[patchrepo::kCustomKey];
      lj["target"] = l.target_path;
      lj["length"] = l.length;
      lj["sha256"] = l.sha256;
      out["levels"].push_back(lj);
    }
    std::fputs((out.dump(2) + "\n").c_str(), stdout);
    return ExitCode::Ok;
  }
  std::printf("%s: %s\n", a.dir.c_str(), versions(r).c_str());
  std::printf("expires: root %s, targets %s, snapshot %s, timestamp %s\n", tuf::format_time(r.root().expires).c_str(),
              tuf::format_time(r.targets().expires).c_str(), tuf::format_time(r.snapshot().expires).c_str(),
              tuf::format_time(r.timestamp().expires).c_str());
  std::string build;
  for (const patchrepo::Level &l : levels) {
    std::string b = l.release + " (build ID " + l.build_id + ")";
    if (b != build)
      std::printf("%s\n", b.c_str());
    build = b;
    std::printf("  level %u  %-30s channels: %-20s CVEs: %s\n", l.level, l.module.c_str(),
                fmt::format("{}", fmt::join(l.channels, ",")).c_str(), cve_list(l).c_str());
  }
  for (const std::string &p : problems)
    std::fprintf(stderr, "kpatch-gen repo: warning: %s\n", p.c_str());
  return ExitCode::Ok;
}

} // namespace

ExitCode run_repo_command(const RepoArgs &a) {
  if (a.verify->parsed())
    return run_verify(a);
  const std::string keys = a.keys.empty() ? default_keys(a.dir) : a.keys;
  const i64 now = now_seconds();
  std::string err;
  if (a.init->parsed()) {
    tuf::InitOptions o;
    o.root_keys = a.root_keys;
    o.root_threshold = a.root_threshold;
    if (!apply_expires(nullptr, &o, a.expires, err))
      return fail(err, ExitCode::Usage);
    auto r = tuf::Repository::init(a.dir, keys, o, now);
    if (!r)
      return fail(r.error().str());
    say(fmt::format("created {} ({}); private keys in {}", a.dir, versions(*r), keys));
    say(fmt::format("give machines {}/metadata/1.root.json: kpatch-agent install --trusted-root", a.dir));
    return ExitCode::Ok;
  }
  auto r = tuf::Repository::open(a.dir, keys);
  if (!r)
    return fail(r.error().str());
  if (a.list->parsed())
    return run_list(a, *r);
  if (a.add->parsed()) {
    std::string report_path = a.report;
    if (report_path.empty()) {
      fs::path p(a.module);
      report_path = (p.parent_path() / (p.stem().string() + ".json")).string();
    }
    auto report = repo::read_module_report(report_path);
    if (!report)
      return fail(report.error().str());
    repo::AddOptions o;
    o.channels = a.channels;
    for (const std::string &s : a.cves) {
      auto c = patchrepo::parse_cve_spec(s);
      if (!c)
        return fail("--cve " + c.error().message, ExitCode::Usage);
      o.cves.push_back(*c);
    }
    if (!a.cve_file.empty()) {
      auto f = patchrepo::read_cve_file(a.cve_file);
      if (!f)
        return fail(f.error().str(), ExitCode::Usage);
      o.cves.insert(o.cves.end(), f->begin(), f->end());
    }
    auto l = repo::add_level(*r, a.module, *report, o, now);
    if (!l)
      return fail(l.error().str());
    say(fmt::format("level {} of {} (build ID {}): {}, channels {}, CVEs: {}", l->level, l->release, l->build_id,
                    l->module, fmt::join(l->channels, ","), cve_list(*l)));
    say(fmt::format("published {} as {}; {}", a.module, l->target_path, versions(*r)));
    return ExitCode::Ok;
  }
  if (a.promote->parsed() || a.demote->parsed()) {
    unsigned long level = 0;
    try {
      level = std::stoul(a.level);
    } catch (...) {
    }
    if (level == 0 || level > 1000000)
      return fail(fmt::format("LEVEL \"{}\" is not a patch level (1, 2, ...)", a.level), ExitCode::Usage);
    bool on = a.promote->parsed();
    auto l = repo::set_channel(*r, static_cast<u32>(level), a.kernel, a.channels.front(), on, now);
    if (!l)
      return fail(l.error().str());
    say(fmt::format("level {} of {} ({}) is {} channel {}; channels now: {}; {}", l->level, l->release, l->module,
                    on ? "in" : "no longer in", a.channels.front(), fmt::join(l->channels, ","), versions(*r)));
    return ExitCode::Ok;
  }
  if (a.refresh->parsed()) {
    if (!apply_expires(&*r, nullptr, a.expires, err))
      return fail(err, ExitCode::Usage);
    if (!a.expires.empty())
      if (auto w = r->save_periods(); !w)
        return fail(w.error().str());
    auto done = r->refresh(now, a.force);
    if (!done)
      return fail(done.error().str());
    say(done->empty() ? fmt::format("nothing to re-sign: timestamp expires {}", tuf::format_time(r->timestamp().expires))
                      : fmt::format("re-signed {}; {}", fmt::join(*done, ", "), versions(*r)));
    return ExitCode::Ok;
  }
  if (a.rotate->parsed()) {
    std::optional<std::string> old;
    if (!a.keyid.empty())
      old = a.keyid;
    std::string before = a.role == "root" || a.role == "targets" || a.role == "snapshot" || a.role == "timestamp"
                             ? fmt::format("{}", fmt::join(r->root().roles.at(a.role).keyids, ","))
                             : "";
    auto fresh = r->rotate_key(a.role, old, now);
    if (!fresh)
      return fail(fresh.error().str(), a.role.empty() ? ExitCode::Usage : ExitCode::Failed);
    say(fmt::format("{} key {} replaced by {}; {}", a.role, old.value_or(before), *fresh, versions(*r)));
    if (a.role == "root")
      say("machines follow the new root through the chain; new machines may be given the newest N.root.json");
    return ExitCode::Ok;
  }
  return ExitCode::Usage;
}

} // namespace kpg::cli
