// SPDX-License-Identifier: GPL-2.0-only
//
// kpatch-agent: keep this machine's live patch level in step with a TUF patch repository.
//
// The command line and the console; the operations are in agent.h, the policy in policy.h.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "agent.h"
#include "agent_setup.h"
#include "support/diag.h"
#include "tuf/curl_fetcher.h"

using namespace kpg;
using namespace kpg::agent;

namespace {

const char *kFooter = R"(Commands:
  check      refresh the repository metadata (TUF: signatures, thresholds, versions, expiry)
             and say which patch level is available for this kernel and why each level
             would or would not be applied; changes nothing
  apply      check, then install the level the policy chooses (even with auto_update off)
  run        one poll for the systemd timer: backs off after failures; applies only with
             auto_update on; loads the installed level if it is not live
  status     installed and live level, levels seen at the last poll, failed and rolled-back
             levels, back-off; no network
  rollback   back to the previous installed level (or none); the level rolled back from is
             not applied again automatically until a newer level is published
  pin LEVEL  stay at exactly LEVEL (channel and min_cvss no longer apply); unpin undoes it
  fetch      download and verify a level's module without installing it
  install    write the configuration, the trusted root and the systemd units; enable the timer

Policy (agent.conf): with min_cvss = 7.0 a level is applied when it fixes at least one CVE
with a CVSS v3 base score >= 7.0 that the installed level lacks; its lower-scored fixes
come along (levels are cumulative). Failed and rolled-back levels are skipped until a newer
level is published. auto_update = off: `run` and `check` report, only `apply` installs.

Exit codes:
  0  done, or nothing to do (also: backing off after earlier failures)
  1  error: configuration, state, disk, or a load that failed
  2  usage error
  3  refused: repository metadata or a module failed verification (tampered, wrong key,
     expired, rolled back, wrong length or hash), or the module is not for this kernel;
     nothing was installed
  4  the transition timed out and was reversed: the machine is at its previous level; the
     level is recorded as failed
  5  the transition timed out and could not be reversed completely: needs attention
  6  repository unreachable (network, HTTP error, stalled download): the current patch
     stays; the next `run` backs off

Environment: KPATCH_AGENT_ROOT (like --root), KPATCH_AGENT_CONFIG (like --config).
Documentation: README.md, "Host your own patch server".)";

class ConsoleReporter final : public load::Reporter {
public:
  ConsoleReporter(Diag &diag, bool quiet) : diag_(diag), quiet_(quiet) {}
  void step(const std::string &msg) override {
    if (!quiet_)
      std::fprintf(stdout, "kpatch-agent: %s\n", msg.c_str());
    std::fflush(stdout);
  }
  void note(const std::string &msg) override {
    if (!quiet_)
      diag_.note(Location(), msg);
  }
  void warn(const std::string &msg) override { diag_.warn(Location(), msg); }
  void progress(const load::Progress &p) override {
    if (quiet_ || !p.pending || *p.pending == last_)
      return;
    last_ = *p.pending;
    step(fmt::format("{}: {}: {} tasks not yet switched ({:.1f} s)", p.patch, load::target_word(p.target), *p.pending,
                     static_cast<double>(p.elapsed_ms) / 1000.0));
  }
  void stalled(const load::StallReport &r) override {
    diag_.warn(Location(), fmt::format("{}: {} stalled: {} task(s) have not switched for {:.1f} s", r.patch,
                                       load::target_word(r.target), r.pending,
                                       static_cast<double>(r.stalled_ms) / 1000.0));
  }

private:
  Diag &diag_;
  bool quiet_;
  u64 last_ = UINT64_MAX;
};

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("/usr/sbin/kpatch-agent");
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"kpatch-agent: keep this machine's live patch level in step with a signed (TUF) patch repository"};
  app.footer(kFooter);
  app.require_subcommand(1);
  std::string root = "/", config_path = kDefaultConfigPath, loader_state = "/var/lib/kpatch-gen";
  bool quiet = false, json = false;
  app.add_option("--root", root, "Read sysfs/procfs, the configuration and the state below this directory (tests)")
      ->envname("KPATCH_AGENT_ROOT");
  app.add_option("--config", config_path, "Configuration file, inside --root (default /etc/kpatch-gen/agent.conf)")
      ->envname("KPATCH_AGENT_CONFIG");
  app.add_option("--loader-state-dir", loader_state,
                 "kpatch-load's state directory, inside --root (default /var/lib/kpatch-gen)")
      ->envname("KPATCH_LOAD_STATE_DIR");
  app.add_flag("-q,--quiet", quiet, "Print only warnings and errors");

  CLI::App *check = app.add_subcommand("check", "Refresh the metadata; say what would be applied and why");
  check->add_flag("--json", json, "Machine-readable output");
  CLI::App *apply = app.add_subcommand("apply", "Install the level the policy chooses");
  apply->add_flag("--json", json, "Machine-readable output");
  CLI::App *run = app.add_subcommand("run", "One poll for the systemd timer");
  CLI::App *status = app.add_subcommand("status", "What is installed and live; no network");
  status->add_flag("--json", json, "Machine-readable output");
  CLI::App *rb = app.add_subcommand("rollback", "Back to the previous installed level (or none)");
  u32 pin_level = 0;
  CLI::App *pin = app.add_subcommand("pin", "Stay at exactly this patch level");
  pin->add_option("LEVEL", pin_level, "Patch level")->required()->check(CLI::PositiveNumber);
  CLI::App *unpin = app.add_subcommand("unpin", "Let the channel and min_cvss decide again");
  std::optional<u32> fetch_level_no;
  std::string fetch_out;
  CLI::App *fetch = app.add_subcommand("fetch", "Download and verify a level's module without installing it");
  fetch->add_option("LEVEL", fetch_level_no, "Patch level (default: what the policy would choose)");
  fetch->add_option("-o,--output", fetch_out, "Where to write the module")->required();

  SetupOptions so;
  std::string interval = "6h", min_cvss = "0", auto_update = "on";
  std::optional<u32> install_pin;
  CLI::App *install = app.add_subcommand("install", "Write the configuration, the trusted root and the systemd units");
  install->add_option("--repository", so.cfg.repository, "Repository base URL (http://, https://, file://)")->required();
  install->add_option("--trusted-root", so.root_file, "The repository's root metadata (1.root.json), from its publisher")
      ->required();
  install->add_option("--channel", so.cfg.channel, "Channel to follow (default stable)");
  install->add_option("--pin", install_pin, "Stay at this level");
  install->add_option("--auto-update", auto_update, "on or off (default on)");
  install->add_option("--min-cvss", min_cvss, "Minimum CVSS base score of a new fix (default 0: every level)");
  install->add_option("--interval", interval, "Poll interval of the timer (default 6h)");
  install->add_option("--exec", so.exec_path, "The binary the service runs (default: this one)");
  install->add_flag("--force", so.force, "Replace an existing configuration");
  bool no_start = false;
  install->add_flag("--no-start", no_start, "Do not start the timer now, only enable it");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    app.exit(e);
    return static_cast<int>(Exit::Usage);
  }

  Diag diag(stderr);
  load::RootFs fs(root == "/" ? "" : root);
  load::LinuxModuleSyscalls sys;
  load::SteadyClock clock;
  load::Host host{fs, sys, clock};
  ConsoleReporter rep(diag, quiet);
  const i64 now = static_cast<i64>(std::time(nullptr));

  auto finish = [&](const Result &r) {
    for (const std::string &e : r.errors)
      diag.error(Location(), e);
    return static_cast<int>(r.code);
  };

  if (install->parsed()) {
    // Validate the options through the configuration parser: one set of rules.
    std::string text = fmt::format("repository = {}\nchannel = {}\nauto_update = {}\nmin_cvss = {}\ninterval = {}\n{}",
                                   so.cfg.repository, so.cfg.channel, auto_update, min_cvss, interval,
                                   install_pin ? fmt::format("pin = {}\n", *install_pin) : std::string());
    auto cfg = parse_config(text, "install options");
    if (!cfg) {
      diag.error(Location(), cfg.error().message);
      return static_cast<int>(Exit::Usage);
    }
    cfg->metadata_url.clear();
    cfg->targets_url.clear();
    so.cfg = *cfg;
    if (so.exec_path.empty())
      so.exec_path = self_exe();
    so.start_now = !no_start;
    tuf::CurlFetcher unused;
    Context ctx{host, rep, unused, so.cfg, config_path, loader_state, now};
    return finish(setup(ctx, so));
  }

  auto text = fs.read(config_path);
  if (!text) {
    diag.error(Location(), fmt::format("{} (kpatch-agent install writes the configuration)", text.error().str()));
    return static_cast<int>(Exit::Usage);
  }
  auto cfg = parse_config(*text, fs.host_path(config_path));
  if (!cfg) {
    diag.error(Location(), cfg.error().message);
    return static_cast<int>(Exit::Usage);
  }
  tuf::CurlOptions co;
  co.connect_timeout_seconds = cfg->connect_timeout;
  co.stall_seconds = cfg->stall_timeout;
  tuf::CurlFetcher fetcher(co);
  Context ctx{host, rep, fetcher, *cfg, config_path, loader_state, now};

  if (status->parsed()) {
    auto j = status_json(ctx);
    std::fputs(json ? (j.dump(2) + "\n").c_str() : format_status(j).c_str(), stdout);
    return j.contains("error") ? static_cast<int>(Exit::Error) : 0;
  }
  if (pin->parsed())
    return finish(set_pin(ctx, pin_level));
  if (unpin->parsed())
    return finish(set_pin(ctx, std::nullopt));
  if (rb->parsed())
    return finish(rollback(ctx));
  if (fetch->parsed())
    return finish(fetch_level(ctx, fetch_level_no, fetch_out));

  Result r = check->parsed() ? agent::check(ctx) : apply->parsed() ? agent::apply(ctx) : agent::run(ctx);
  if (!r.report.release.empty() && r.report.root_version > 0) {
    if (json)
      std::fputs((report_json(r.report).dump(2) + "\n").c_str(), stdout);
    else if (!quiet && !run->parsed())
      std::fputs(format_report(r.report, ctx.cfg).c_str(), stdout);
    else if (!quiet)
      rep.step(r.report.decision.summary);
  }
  return finish(r);
}
