// SPDX-License-Identifier: GPL-2.0-only
#include "agent.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "install.h"
#include "kernel.h"
#include "livepatch.h"
#include "loader.h"
#include "modinfo.h"
#include "store.h"
#include "support/file.h"
#include "tuf/metadata.h"

namespace kpg::agent {

using nlohmann::ordered_json;
using patchrepo::Level;

void Result::fail(Exit c, std::string msg) {
  // The most specific failure wins the exit code: a reverted transition says more than the
  // error it caused.
  auto rank = [](Exit e) {
    switch (e) {
    case Exit::NotReverted: return 6;
    case Exit::Reverted: return 5;
    case Exit::Refused: return 4;
    case Exit::Unreachable: return 3;
    case Exit::Error: return 2;
    case Exit::Usage: return 1;
    case Exit::Ok: return 0;
    }
    return 0;
  };
  if (rank(c) > rank(code))
    code = c;
  errors.push_back(std::move(msg));
}

namespace {

// The TUF client's trusted files live in <state_dir>/metadata, through the loader's Fs seam.
class FsStore final : public tuf::LocalStore {
public:
  FsStore(load::Fs &fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}
  std::optional<std::string> read(const std::string &name) override {
    if (!fs_.exists(dir_ + "/" + name))
      return std::nullopt;
    auto t = fs_.read(dir_ + "/" + name);
    if (!t)
      return std::nullopt;
    return std::move(*t);
  }
  Expected<void> write(const std::string &name, const std::string &data) override {
    if (auto d = fs_.make_dirs(dir_); !d)
      return d;
    return fs_.write_file_atomic(dir_ + "/" + name, data);
  }
  Expected<void> remove(const std::string &name) override { return fs_.remove_file(dir_ + "/" + name); }

private:
  load::Fs &fs_;
  std::string dir_;
};

// One agent at a time per machine (the timer and an administrator's `apply` may meet).
// `status` takes the lock shared: it waits for a running poll to finish instead of showing
// half of one (the timer's run had the new level live in the kernel but not yet recorded as
// its level, and status called it "not installed by kpatch-agent"). A status without a state
// directory has nothing to wait for and creates nothing.
// A kernel without file locking (CONFIG_FILE_LOCKING=n, e.g. the lab's tinyconfig kernel)
// answers flock() with ENOSYS: there is no lock to take, and nothing to wait for.
class StateLock {
public:
  enum Kind { Exclusive, Shared };
  StateLock(load::Fs &fs, const std::string &state_dir, Kind kind = Exclusive) {
    const std::string path = fs.host_path(state_dir + "/lock");
    if (kind == Shared) {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) {
        missing_ = errno == ENOENT;
        return;
      }
    } else {
      if (!fs.make_dirs(state_dir))
        return;
      fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd_ < 0)
        return;
    }
    int rc;
    do {
      rc = ::flock(fd_, kind == Shared ? LOCK_SH : LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno != ENOSYS && errno != ENOLCK && errno != EOPNOTSUPP) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~StateLock() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  // Held, or (shared) there is no lock file: no agent has run, so none is running.
  bool held() const { return fd_ >= 0 || missing_; }

private:
  int fd_ = -1;
  bool missing_ = false;
};

enum class Mode { Check, Apply, Run };

Exit exit_of(const Error &e) {
  if (e.code == tuf::kFetchFailed)
    return Exit::Unreachable;
  if (e.code == tuf::kRejected)
    return Exit::Refused;
  return Exit::Error;
}

const char *result_word(Exit e) {
  switch (e) {
  case Exit::Ok: return "ok";
  case Exit::Unreachable: return "unreachable";
  case Exit::Refused: return "refused";
  case Exit::Reverted: return "reverted";
  case Exit::NotReverted: return "not-reverted";
  default: return "error";
  }
}

Exit exit_of(load::ExitCode c) {
  switch (c) {
  case load::ExitCode::Ok:
  case load::ExitCode::Forced: return Exit::Ok;
  case load::ExitCode::Refused: return Exit::Refused;
  case load::ExitCode::Reverted: return Exit::Reverted;
  case load::ExitCode::NotReverted: return Exit::NotReverted;
  case load::ExitCode::Usage:
  case load::ExitCode::Error: break;
  }
  return Exit::Error;
}

struct Session {
  Context &ctx;
  Result res;
  load::RunningKernel kernel;
  std::optional<load::Store> store; // the loader's state for this release
  AgentState state;
  std::string key; // build key
  std::optional<tuf::Updater> updater;

  load::Fs &fs() { return ctx.host.fs; }
  std::string metadata_dir() const { return ctx.cfg.state_dir + "/metadata"; }

  bool open_kernel() {
    auto k = load::probe_kernel(fs());
    if (!k) {
      res.fail(Exit::Error, k.error().str());
      return false;
    }
    kernel = std::move(*k);
    res.report.release = kernel.release;
    if (!kernel.build_id) {
      res.fail(Exit::Error, fmt::format("this kernel exposes no GNU build ID ({}): patch levels are published per "
                                        "kernel build, so none can be matched",
                                        kernel.build_id_problem));
      return false;
    }
    res.report.build_id = *kernel.build_id;
    key = build_key(kernel.release, *kernel.build_id);
    store.emplace(fs(), ctx.loader_state_dir, kernel.release, load::read_boot_id(fs()));
    auto st = read_state(fs(), ctx.cfg.state_dir);
    if (!st) {
      res.fail(Exit::Error, st.error().str());
      return false;
    }
    state = std::move(*st);
    return true;
  }

  // The installed level: the loader's stack top, if this agent knows its level.
  void read_installed() {
    auto st = store->read_installed();
    if (!st || st->stack.empty())
      return;
    const std::string &mod = st->stack.back().name;
    res.report.installed_module = mod;
    for (const auto &[lvl, m] : state.builds[key].modules)
      if (m == mod)
        res.report.installed = lvl;
    load::PatchState ps = load::read_patch_state(fs(), mod);
    res.report.live = ps.present && ps.enabled.value_or(false);
    if (!res.report.installed)
      ctx.rep.note(fmt::format("the installed patch {} was not installed by kpatch-agent: its level is unknown", mod));
  }

  bool seed_trusted_root() {
    FsStore ms(fs(), metadata_dir());
    if (ms.read("root.json"))
      return true;
    // First contact: the root pinned at install time is the trust anchor.
    auto root = fs().read(ctx.cfg.trusted_root);
    if (!root) {
      res.fail(Exit::Error, fmt::format("no trusted root: {} (kpatch-agent install --trusted-root FILE puts the "
                                        "repository's root metadata there)",
                                        root.error().str()));
      return false;
    }
    if (auto w = ms.write("root.json", *root); !w) {
      res.fail(Exit::Error, w.error().str());
      return false;
    }
    return true;
  }

  void record_failure(Exit code, const std::string &message) {
    state.consecutive_failures++;
    // 1, 2, 4, ... minutes, capped: a fleet must not hammer a repository that is down.
    i64 backoff = 60;
    for (u32 i = 1; i < state.consecutive_failures && backoff < ctx.cfg.max_backoff; i++)
      backoff *= 2;
    backoff = std::min(backoff, ctx.cfg.max_backoff);
    state.next_try = ctx.now + backoff;
    state.last_result = result_word(code);
    state.last_message = message;
  }

  bool refresh() {
    if (!seed_trusted_root())
      return false;
    FsStore ms(fs(), metadata_dir());
    i64 delay = ctx.cfg.retry_delay_ms;
    for (u32 attempt = 0;; attempt++) {
      updater.emplace(ctx.fetcher, ms, ctx.cfg.metadata_url, ctx.cfg.targets_url, ctx.now);
      auto r = updater->refresh();
      res.report.stats = updater->stats();
      if (r)
        break;
      if (r.error().code == tuf::kFetchFailed && attempt < ctx.cfg.retries) {
        ctx.rep.note(fmt::format("repository unreachable ({}); retrying in {:.1f} s", r.error().str(),
                                 static_cast<double>(delay) / 1000.0));
        ctx.host.clock.sleep_ms(delay);
        delay *= 2;
        continue;
      }
      Exit code = exit_of(r.error());
      std::string at = res.report.installed ? fmt::format("level {}", *res.report.installed) : "no patch level";
      std::string msg =
          code == Exit::Unreachable
              ? fmt::format("repository unreachable: {}; keeping {}", r.error().str(), at)
              : code == Exit::Refused ? fmt::format("repository metadata rejected: {}; keeping {}", r.error().str(), at)
                                      : fmt::format("cannot update the trusted metadata: {}", r.error().str());
      res.fail(code, msg);
      record_failure(code, msg);
      return false;
    }
    res.report.root_version = updater->root().version;
    res.report.timestamp_version = updater->timestamp().version;
    res.report.timestamp_expires = updater->timestamp().expires;
    return true;
  }

  // The levels of this kernel build in the (verified) top-level targets metadata.
  void collect_levels(const tuf::Targets &targets) {
    for (const auto &[path, t] : targets.targets) {
      std::string problem;
      auto sha = t.hashes.find("sha256");
      auto l = patchrepo::level_from_custom(path, t.custom, t.length, sha == t.hashes.end() ? "" : sha->second, problem);
      if (!l) {
        if (!problem.empty())
          ctx.rep.warn("ignoring a malformed level: " + problem);
        continue;
      }
      if (l->release != kernel.release || l->build_id != *kernel.build_id)
        continue;
      if (path != patchrepo::level_target_path(l->release, l->build_id, l->level, l->module)) {
        ctx.rep.warn(fmt::format("ignoring {}: its path does not match its metadata (level {} of {})", path, l->level,
                                 l->module));
        continue;
      }
      res.report.levels.push_back(std::move(*l));
    }
    std::sort(res.report.levels.begin(), res.report.levels.end(),
              [](const Level &a, const Level &b) { return a.level > b.level; });
  }

  void decide(bool retry_failed_pin) {
    PolicyInput in;
    in.levels = res.report.levels;
    in.installed = res.report.installed;
    in.channel = ctx.cfg.channel;
    in.pin = ctx.cfg.pin;
    in.min_cvss10 = ctx.cfg.min_cvss10;
    in.failed = state.builds[key].failed;
    in.rolled_back = state.builds[key].rolled_back;
    in.retry_failed_pin = retry_failed_pin;
    res.report.decision = agent::decide(in);
  }

  load::LoadOptions load_options() const {
    load::LoadOptions o;
    o.wait.timeout_ms = ctx.cfg.transition_timeout * 1000;
    return o;
  }

  // The installed level is not live (kpatch_gen.disable at boot, kpatch-gen.service not
  // enabled, someone unloaded it): load it, unless the command line says not to.
  void ensure_live() {
    if (res.report.installed_module.empty() || res.report.live)
      return;
    auto cmd = fs().read("/proc/cmdline");
    if (cmd && load::cmdline_disables(*cmd)) {
      ctx.rep.note(fmt::format("the kernel command line has {}: not loading the installed patch {}",
                               load::kDisableSwitch, res.report.installed_module));
      return;
    }
    ctx.rep.step(fmt::format("the installed patch {} is not live: loading it", res.report.installed_module));
    load::OpResult lr = load::load_installed(ctx.host, ctx.rep, *store, load_options(), false);
    for (const std::string &e : lr.errors)
      res.fail(exit_of(lr.code), e);
    if (lr.code == load::ExitCode::Ok)
      res.report.live = true;
  }

  void mark_failed(u32 level, const std::string &why) {
    state.builds[key].failed[level] = why;
    ctx.rep.warn(fmt::format("level {} recorded as failed: it will not be tried again until a newer level is published",
                             level));
  }

  // Downloads, verifies and installs `lvl` into the loader's stack; returns the installed
  // copy's path (inside the root), or nothing after recording why not.
  std::optional<std::string> download_and_install(const Level &lvl, const std::string &from) {
    auto info = updater->target_info(lvl.target_path);
    if (!info || !*info) {
      res.fail(Exit::Refused, fmt::format("level {}: {} vanished from the targets metadata", lvl.level, lvl.target_path));
      return std::nullopt;
    }
    std::vector<u8> data;
    i64 delay = ctx.cfg.retry_delay_ms;
    for (u32 attempt = 0;; attempt++) {
      auto d = updater->download_target(**info);
      if (d) {
        data = std::move(*d);
        break;
      }
      if (d.error().code == tuf::kFetchFailed && attempt < ctx.cfg.retries) {
        ctx.rep.note(fmt::format("download failed ({}); retrying in {:.1f} s", d.error().str(),
                                 static_cast<double>(delay) / 1000.0));
        ctx.host.clock.sleep_ms(delay);
        delay *= 2;
        continue;
      }
      Exit code = exit_of(d.error());
      std::string msg = fmt::format("level {}: {} {}; keeping {}", lvl.level,
                                    code == Exit::Refused ? "module rejected:" : "download failed:", d.error().str(), from);
      res.fail(code, msg);
      record_failure(code, msg);
      return std::nullopt;
    }
    // Into the state directory first: a full disk stops us here, before anything is
    // installed or loaded, and the atomic write leaves no partial file behind.
    const std::string dl_dir = ctx.cfg.state_dir + "/downloads";
    const std::string dl = dl_dir + "/" + lvl.module + ".ko";
    Expected<void> w = fs().make_dirs(dl_dir);
    if (w)
      w = fs().write_file_atomic(dl, std::string(data.begin(), data.end()));
    if (!w) {
      std::string msg = fmt::format("level {}: cannot store the download: {}; nothing was installed, keeping {}",
                                    lvl.level, w.error().str(), from);
      res.fail(Exit::Error, msg);
      record_failure(Exit::Error, msg);
      return std::nullopt;
    }
    const std::string host_dl = fs().host_path(dl);
    struct Cleanup {
      load::Fs &fs;
      std::string path;
      ~Cleanup() { (void)fs.remove_file(path); }
    } cleanup{fs(), dl};

    // The signed metadata names the module; the file must be that module.
    auto mi = load::read_modinfo(host_dl);
    if (!mi || mi->name != lvl.module) {
      std::string msg = fmt::format("level {}: the module is {}, not the {} its metadata names; not installed", lvl.level,
                                    mi ? mi->name : mi.error().str(), lvl.module);
      res.fail(Exit::Refused, msg);
      mark_failed(lvl.level, "the module is not the one its metadata names");
      state.last_result = result_word(Exit::Refused);
      state.last_message = msg;
      return std::nullopt;
    }
    // The loader checks the module against this kernel (release, vermagic, build ID) here.
    load::OpResult ir = load::install_module(ctx.host, ctx.rep, *store, host_dl);
    if (ir.code != load::ExitCode::Ok) {
      Exit code = exit_of(ir.code);
      for (const std::string &e : ir.errors)
        res.fail(code, fmt::format("level {}: {}", lvl.level, e));
      if (code == Exit::Refused)
        mark_failed(lvl.level, "refused by the loader (not for this kernel?)");
      state.last_result = result_word(code);
      state.last_message = ir.errors.empty() ? "" : ir.errors.front();
      return std::nullopt;
    }
    auto st = store->read_installed();
    if (!st || st->stack.empty()) {
      res.fail(Exit::Error, fmt::format("level {}: installed, but the installed stack cannot be read back", lvl.level));
      return std::nullopt;
    }
    return store->module_path(st->stack.back());
  }

  // The installed stack keeps levels in increasing order: after going down to `level` (a
  // pin), the entries of higher levels go, so that `rollback` returns to a lower level and
  // the boot loads `level`.
  void drop_higher_levels(u32 level) {
    auto st = store->read_installed();
    if (!st)
      return;
    const std::map<u32, std::string> &mods = state.builds[key].modules;
    std::set<std::string> drop;
    for (const load::InstalledPatch &p : st->stack)
      for (const auto &[l, m] : mods)
        if (m == p.name && l > level)
          drop.insert(p.name);
    for (const std::string &name : drop) {
      load::OpResult ur = load::uninstall_module(ctx.host, ctx.rep, *store, name);
      for (const std::string &e : ur.errors)
        ctx.rep.warn(e);
    }
  }

  void apply_level(u32 level_no) {
    const Level &lvl = *std::find_if(res.report.levels.begin(), res.report.levels.end(),
                                     [&](const Level &l) { return l.level == level_no; });
    const std::string from = res.report.installed ? fmt::format("level {}", *res.report.installed) : "no patch level";
    ctx.rep.step(fmt::format("applying level {} ({}) over {}", lvl.level, lvl.module, from));
    // A level still on the installed stack (going down with a pin) is loaded from its
    // installed copy, verified when it was installed.
    std::optional<std::string> stored;
    if (auto st = store->read_installed())
      for (const load::InstalledPatch &p : st->stack)
        if (p.name == lvl.module)
          stored = store->module_path(p);
    const bool installed_now = !stored;
    if (!stored)
      stored = download_and_install(lvl, from);
    if (!stored)
      return;
    // A replace-mode module replaces the running level in one transition. If the load
    // fails, the level comes off the installed stack again: the boot must not load it.
    load::OpResult lr = load::load_module(ctx.host, ctx.rep, &*store, fs().host_path(*stored), load_options());
    if (lr.code != load::ExitCode::Ok && lr.code != load::ExitCode::Forced) {
      Exit code = exit_of(lr.code);
      for (const std::string &e : lr.errors)
        res.fail(code, fmt::format("level {}: {}", lvl.level, e));
      if (installed_now) {
        load::OpResult ur = load::uninstall_module(ctx.host, ctx.rep, *store, lvl.module);
        for (const std::string &e : ur.errors)
          res.fail(Exit::Error, fmt::format("level {}: cannot take it off the installed stack: {}", lvl.level, e));
      }
      mark_failed(lvl.level, code == Exit::Reverted ? "its transition timed out and was reversed"
                             : code == Exit::NotReverted ? "its transition timed out and could not be reversed"
                                                         : "the kernel refused it");
      state.last_result = result_word(code);
      state.last_message = lr.errors.empty() ? "" : lr.errors.front();
      return;
    }
    state.builds[key].modules[lvl.level] = lvl.module;
    drop_higher_levels(lvl.level);
    res.report.applied = lvl.level;
    res.report.installed = lvl.level;
    res.report.installed_module = lvl.module;
    res.report.live = true;
    ctx.rep.step(fmt::format("level {} is live ({}){}", lvl.level, lvl.module,
                             lr.replaced.empty() ? "" : fmt::format(", replacing {}", fmt::join(lr.replaced, ", "))));
  }

  void save() {
    if (auto w = write_state(fs(), ctx.cfg.state_dir, state); !w)
      res.fail(Exit::Error, "cannot record the agent's state: " + w.error().str());
  }
};

Result poll(Context &ctx, Mode mode) {
  Session s{ctx, {}, {}, {}, {}, {}, {}};
  StateLock lock(ctx.host.fs, ctx.cfg.state_dir);
  if (!lock.held()) {
    s.res.fail(Exit::Error, fmt::format("cannot lock {}/lock: {}", ctx.cfg.state_dir, std::strerror(errno)));
    return s.res;
  }
  if (!s.open_kernel())
    return s.res;
  s.read_installed();
  if (mode == Mode::Run && ctx.now < s.state.next_try) {
    ctx.rep.step(fmt::format("backing off after {} failed poll(s) ({}): next try after {}", s.state.consecutive_failures,
                             s.state.last_result, tuf::format_time(s.state.next_try)));
    return s.res;
  }
  s.state.last_check = tuf::format_time(ctx.now);
  if (!s.refresh()) {
    s.save();
    return s.res;
  }
  s.collect_levels(s.updater->targets());
  s.decide(mode == Mode::Apply);
  s.state.consecutive_failures = 0;
  s.state.next_try = 0;
  s.state.last_result = "ok";
  s.state.last_message = s.res.report.decision.summary;
  if (mode != Mode::Check)
    s.ensure_live();
  const std::optional<u32> chosen = s.res.report.decision.chosen;
  if (chosen && mode == Mode::Run && !ctx.cfg.auto_update)
    ctx.rep.note(fmt::format("auto_update is off: level {} is not applied; `kpatch-agent apply` installs it", *chosen));
  else if (chosen && mode != Mode::Check)
    s.apply_level(*chosen);
  s.save();
  return s.res;
}

} // namespace

Result check(Context &ctx) { return poll(ctx, Mode::Check); }

Result fetch_level(Context &ctx, std::optional<u32> level, const std::string &out) {
  Session s{ctx, {}, {}, {}, {}, {}, {}};
  if (!s.open_kernel())
    return s.res;
  s.read_installed();
  if (!s.refresh())
    return s.res;
  s.collect_levels(s.updater->targets());
  s.decide(true);
  std::optional<u32> want = level ? level : s.res.report.decision.chosen;
  auto it = std::find_if(s.res.report.levels.begin(), s.res.report.levels.end(),
                         [&](const Level &l) { return want && l.level == *want; });
  if (it == s.res.report.levels.end()) {
    s.res.fail(Exit::Error, want ? fmt::format("level {} is not published for this kernel", *want)
                                 : "no level to fetch: " + s.res.report.decision.summary);
    return s.res;
  }
  auto info = s.updater->target_info(it->target_path);
  auto data = info && *info ? s.updater->download_target(**info)
                            : Expected<std::vector<u8>>(make_error(Location(it->target_path), "not in the metadata"));
  if (!data) {
    s.res.fail(exit_of(data.error()), fmt::format("level {}: {}", it->level, data.error().str()));
    return s.res;
  }
  if (auto w = write_file_atomic(out, *data); !w) {
    s.res.fail(Exit::Error, w.error().str());
    return s.res;
  }
  s.res.report.applied.reset();
  ctx.rep.step(fmt::format("level {} ({}, {} bytes, sha256 {}) verified and written to {}", it->level, it->module,
                           data->size(), it->sha256, out));
  return s.res;
}
Result apply(Context &ctx) { return poll(ctx, Mode::Apply); }
Result run(Context &ctx) { return poll(ctx, Mode::Run); }

Result rollback(Context &ctx) {
  Session s{ctx, {}, {}, {}, {}, {}, {}};
  StateLock lock(ctx.host.fs, ctx.cfg.state_dir);
  if (!s.open_kernel())
    return s.res;
  s.read_installed();
  const std::optional<u32> from = s.res.report.installed;
  if (from && ctx.cfg.pin && *ctx.cfg.pin == *from) {
    s.res.fail(Exit::Error, fmt::format("pinned to level {}: the next poll would apply it again; `kpatch-agent pin "
                                        "LEVEL` the level you want instead",
                                        *from));
    return s.res;
  }
  load::LoadOptions o = s.load_options();
  load::OpResult r = load::rollback(ctx.host, ctx.rep, *s.store, o);
  for (const std::string &e : r.errors)
    s.res.fail(exit_of(r.code), e);
  if (r.code == load::ExitCode::Ok) {
    if (from) {
      s.state.builds[s.key].rolled_back.insert(*from);
      ctx.rep.step(fmt::format("level {} will not be applied again automatically; a newer level will", *from));
    }
    s.res.report.installed.reset();
    s.res.report.installed_module.clear();
    s.read_installed();
  }
  s.save();
  return s.res;
}

Result set_pin(Context &ctx, std::optional<u32> level) {
  Result res;
  auto text = ctx.host.fs.read(ctx.config_path);
  if (!text) {
    res.fail(Exit::Error, text.error().str());
    return res;
  }
  std::string updated = set_config_value(*text, "pin", level ? std::to_string(*level) : "none");
  if (auto c = parse_config(updated, ctx.config_path); !c) {
    res.fail(Exit::Usage, c.error().message);
    return res;
  }
  if (auto w = ctx.host.fs.write_file_atomic(ctx.config_path, updated); !w) {
    res.fail(Exit::Error, w.error().str());
    return res;
  }
  ctx.rep.step(level ? fmt::format("pinned to level {}: {} installs exactly that level", *level,
                                   ctx.cfg.auto_update ? "the next poll" : "`kpatch-agent apply`")
                     : std::string("unpinned: the channel and min_cvss decide again"));
  return res;
}

// ---- status ---------------------------------------------------------------------------------

static ordered_json level_json(const Level &l) {
  ordered_json cves = ordered_json::array();
  for (const patchrepo::Cve &c : l.cves) {
    ordered_json e = {{"id", c.id}, {"cvss", c.score10 ? ordered_json(c.score_text()) : ordered_json()},
                      {"severity", c.score10 ? ordered_json(c.severity()) : ordered_json()}, {"since", c.since}};
    cves.push_back(e);
  }
  return {{"level", l.level},       {"module", l.module},      {"channels", l.channels},
          {"description", l.description}, {"published", l.published}, {"cves", cves}};
}

ordered_json status_json(Context &ctx) {
  Session s{ctx, {}, {}, {}, {}, {}, {}};
  StateLock lock(ctx.host.fs, ctx.cfg.state_dir, StateLock::Shared);
  ordered_json j;
  j["config"] = {{"repository", ctx.cfg.repository},
                 {"channel", ctx.cfg.channel},
                 {"pin", ctx.cfg.pin ? ordered_json(*ctx.cfg.pin) : ordered_json()},
                 {"auto_update", ctx.cfg.auto_update},
                 {"min_cvss", format_cvss(ctx.cfg.min_cvss10)},
                 {"interval", format_duration(ctx.cfg.interval)}};
  if (!s.open_kernel()) {
    j["error"] = s.res.errors.empty() ? "" : s.res.errors.front();
    return j;
  }
  s.read_installed();
  j["kernel"] = {{"release", s.kernel.release}, {"build_id", *s.kernel.build_id}};
  j["installed"] = s.res.report.installed_module.empty()
                       ? ordered_json()
                       : ordered_json{{"level", s.res.report.installed ? ordered_json(*s.res.report.installed) : ordered_json()},
                                      {"module", s.res.report.installed_module},
                                      {"live", s.res.report.live}};
  // The cached targets metadata was verified when it was fetched; status only displays it.
  FsStore ms(ctx.host.fs, s.metadata_dir());
  ordered_json levels = ordered_json::array();
  if (auto text = ms.read("targets.json")) {
    if (auto env = tuf::parse_envelope(*text, Location("targets.json")))
      if (auto t = tuf::parse_targets(env->signed_value, Location("targets.json"))) {
        s.collect_levels(*t);
        for (const Level &l : s.res.report.levels)
          levels.push_back(level_json(l));
      }
  }
  j["levels"] = levels;
  const BuildState &bs = s.state.builds[s.key];
  ordered_json failed = ordered_json::object();
  for (const auto &[l, why] : bs.failed)
    failed[std::to_string(l)] = why;
  j["failed"] = failed;
  j["rolled_back"] = bs.rolled_back;
  j["last_poll"] = {{"time", s.state.last_check.empty() ? ordered_json() : ordered_json(s.state.last_check)},
                    {"result", s.state.last_result.empty() ? ordered_json() : ordered_json(s.state.last_result)},
                    {"message", s.state.last_message}};
  j["backoff"] = s.state.next_try > ctx.now
                     ? ordered_json{{"failures", s.state.consecutive_failures}, {"until", tuf::format_time(s.state.next_try)}}
                     : ordered_json();
  return j;
}

std::string format_status(const ordered_json &j) {
  std::string out;
  const ordered_json &c = j["config"];
  out += fmt::format("repository:   {}\n", c["repository"].get<std::string>());
  out += fmt::format("policy:       channel {}, {}, auto_update {}, min_cvss {}\n", c["channel"].get<std::string>(),
                     c["pin"].is_null() ? std::string("not pinned") : fmt::format("pinned to level {}", c["pin"].get<u32>()),
                     c["auto_update"].get<bool>() ? "on" : "off", c["min_cvss"].get<std::string>());
  if (j.contains("error"))
    return out + "error:        " + j["error"].get<std::string>() + "\n";
  out += fmt::format("kernel:       {} (build ID {})\n", j["kernel"]["release"].get<std::string>(),
                     j["kernel"]["build_id"].get<std::string>());
  if (j["installed"].is_null())
    out += "installed:    no patch level\n";
  else
    out += fmt::format("installed:    {} ({}), {}\n",
                       j["installed"]["level"].is_null() ? std::string("unknown level")
                                                         : fmt::format("level {}", j["installed"]["level"].get<u32>()),
                       j["installed"]["module"].get<std::string>(), j["installed"]["live"].get<bool>() ? "live" : "NOT live");
  for (const auto &l : j["levels"]) {
    std::vector<std::string> cves;
    for (const auto &cv : l["cves"])
      cves.push_back(cv["cvss"].is_null() ? cv["id"].get<std::string>()
                                          : fmt::format("{} {}", cv["id"].get<std::string>(), cv["cvss"].get<std::string>()));
    out += fmt::format("  level {:>3}  {:<28} channels: {:<20} {}\n", l["level"].get<u32>(), l["module"].get<std::string>(),
                       fmt::format("{}", fmt::join(l["channels"].get<std::vector<std::string>>(), ",")),
                       fmt::join(cves, ", "));
  }
  for (const auto &[lvl, why] : j["failed"].items())
    out += fmt::format("failed:       level {}: {}\n", lvl, why.get<std::string>());
  for (const auto &lvl : j["rolled_back"])
    out += fmt::format("rolled back:  level {}\n", lvl.get<u32>());
  if (!j["last_poll"]["time"].is_null())
    out += fmt::format("last poll:    {} {}: {}\n", j["last_poll"]["time"].get<std::string>(),
                       j["last_poll"]["result"].get<std::string>(), j["last_poll"]["message"].get<std::string>());
  if (!j["backoff"].is_null())
    out += fmt::format("backing off:  until {} after {} failure(s)\n", j["backoff"]["until"].get<std::string>(),
                       j["backoff"]["failures"].get<u32>());
  return out;
}

ordered_json report_json(const Report &r) {
  ordered_json levels = ordered_json::array();
  for (const LevelVerdict &v : r.decision.levels) {
    ordered_json lj;
    for (const Level &l : r.levels)
      if (l.level == v.level)
        lj = level_json(l);
    lj["eligible"] = v.eligible;
    lj["why"] = v.why;
    lj["new_fixes"] = v.new_fixes;
    levels.push_back(lj);
  }
  return {{"kernel", {{"release", r.release}, {"build_id", r.build_id}}},
          {"installed", r.installed ? ordered_json(*r.installed) : ordered_json()},
          {"installed_module", r.installed_module.empty() ? ordered_json() : ordered_json(r.installed_module)},
          {"live", r.live},
          {"repository", {{"root_version", r.root_version}, {"timestamp_version", r.timestamp_version},
                          {"timestamp_expires", r.timestamp_expires ? ordered_json(tuf::format_time(r.timestamp_expires)) : ordered_json()}}},
          {"levels", levels},
          {"chosen", r.decision.chosen ? ordered_json(*r.decision.chosen) : ordered_json()},
          {"summary", r.decision.summary},
          {"applied", r.applied ? ordered_json(*r.applied) : ordered_json()},
          {"requests", r.stats.requests},
          {"bytes", r.stats.bytes}};
}

std::string format_report(const Report &r, const AgentConfig &cfg) {
  std::string out = fmt::format("kernel {} (build ID {}): {}{}\n", r.release, r.build_id,
                                r.installed ? fmt::format("level {} installed", *r.installed) : "no patch level installed",
                                r.installed_module.empty() ? "" : (r.live ? ", live" : ", NOT live"));
  out += fmt::format("repository: root v{}, timestamp v{} (expires {}); channel {}{}{}\n", r.root_version,
                     r.timestamp_version, tuf::format_time(r.timestamp_expires), cfg.channel,
                     cfg.pin ? fmt::format(", pinned to level {}", *cfg.pin) : "",
                     cfg.min_cvss10 ? fmt::format(", min_cvss {}", format_cvss(cfg.min_cvss10)) : "");
  for (const LevelVerdict &v : r.decision.levels) {
    const Level *l = nullptr;
    for (const Level &x : r.levels)
      if (x.level == v.level)
        l = &x;
    out += fmt::format("  level {:>3} {:<28} {} {}\n", v.level, l ? l->module : "",
                       v.eligible ? (r.decision.chosen && *r.decision.chosen == v.level ? "->" : "ok") : "--", v.why);
  }
  out += r.decision.summary + "\n";
  return out;
}

} // namespace kpg::agent
