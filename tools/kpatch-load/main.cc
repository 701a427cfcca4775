// SPDX-License-Identifier: GPL-2.0-only
//
// kpatch-load: load, watch, unload, install and roll back livepatch modules.
//
// The command line and the console. All decisions live in the kpg_loader library (loader.h,
// install.h, status.h), which talks to the kernel only through sys.h, so everything here is
// presentation: which operation, which options, how progress and stalls look on a terminal.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "install.h"
#include "kernel.h"
#include "loader.h"
#include "status.h"
#include "support/diag.h"

using namespace kpg;
using namespace kpg::load;

namespace {

const char *kExitCodes = R"(Exit codes:
  0  done (or nothing to do)
  1  error: an operation failed (the message says which module, what and why)
  2  usage error
  3  refused before loading anything: not a livepatch module, built for another kernel
     (release, vermagic flags or build ID differ), already loaded, or another transition
     is in progress
  4  the transition timed out and was reversed: the system is as it was before
     (load: module removed; unload: patch fully applied again)
  5  the transition timed out and could NOT be reversed completely: needs attention
  6  completed only because --force-after forced the transition (see the warning)

Environment: KPATCH_LOAD_ROOT (like --root), KPATCH_LOAD_STATE_DIR (like --state-dir).
Documentation: docs/loader.md)";

// Prints steps and progress to stdout and problems to stderr, rate-limiting progress lines so
// a transition with thousands of tasks does not flood the terminal.
class ConsoleReporter final : public Reporter {
public:
  ConsoleReporter(Diag &diag, Clock &clock, bool quiet) : diag_(diag), clock_(clock), quiet_(quiet) {}

  void step(const std::string &msg) override {
    if (!quiet_)
      std::fprintf(stdout, "kpatch-load: %s\n", msg.c_str());
    std::fflush(stdout);
  }
  void note(const std::string &msg) override {
    if (!quiet_)
      diag_.note(Location(), msg);
  }
  void warn(const std::string &msg) override { diag_.warn(Location(), msg); }
  void progress(const Progress &p) override {
    if (quiet_)
      return;
    i64 now = clock_.now_ms();
    bool last = p.pending && *p.pending == 0;
    if (last_print_ >= 0 && now - last_print_ < 500 && !last && p.patch == last_patch_)
      return;
    last_print_ = now;
    last_patch_ = p.patch;
    // All visible tasks switched but the transition still open: the kernel completes it
    // from klp_transition_work, which re-runs about once a second (idle tasks are not in
    // /proc either). Saying so keeps "0 pending" from looking like a hang.
    std::string count = !p.pending      ? std::string("pending tasks unknown (cannot read /proc/*/task/*/patch_state)")
                        : *p.pending == 0 ? std::string("all tasks switched; the kernel completes the transition at "
                                                        "its next check (about once a second)")
                                          : fmt::format("{} tasks not yet switched", *p.pending);
    step(fmt::format("{}: {}: {} ({:.1f} s)", p.patch, target_word(p.target), count,
                     static_cast<double>(p.elapsed_ms) / 1000.0));
  }
  void stalled(const StallReport &r) override {
    diag_.warn(Location(),
               fmt::format("{}: {} stalled: {} task(s) have not switched for {:.1f} s ({:.1f} s since start). "
                           "Blocking tasks:\n{}",
                           r.patch, target_word(r.target), r.pending, static_cast<double>(r.stalled_ms) / 1000.0,
                           static_cast<double>(r.elapsed_ms) / 1000.0, format_blockers(r.blockers, r.pending)));
  }

private:
  Diag &diag_;
  Clock &clock_;
  bool quiet_;
  i64 last_print_ = -1;
  std::string last_patch_;
};

i64 to_ms(double s) { return static_cast<i64>(s * 1000.0 + 0.5); }

struct WaitFlags {
  double timeout = 60;
  std::optional<double> force_after;
  double stall_after = 3;
  double refcnt_timeout = 15;

  void add(CLI::App *app) {
    app->add_option("--timeout", timeout, "Give up and reverse after this many seconds (default 60; the kernel "
                                          "signals blocking tasks after ~15 s)")
        ->check(CLI::PositiveNumber);
    app->add_option("--force-after", force_after,
                    "Force the transition after this many seconds. DANGEROUS: skips the consistency check, and "
                    "the modules of patches being removed can never be unloaded")
        ->check(CLI::NonNegativeNumber);
    app->add_option("--stall-after", stall_after, "Name the blocking tasks when nothing switched for this long (default 3)")
        ->check(CLI::PositiveNumber);
    app->add_option("--refcnt-timeout", refcnt_timeout,
                    "How long to wait for the module's references to drop before removing it (default 15)")
        ->check(CLI::PositiveNumber);
  }
  LoadOptions options(bool keep_replaced) const {
    LoadOptions o;
    o.wait.timeout_ms = to_ms(timeout);
    if (force_after)
      o.wait.force_after_ms = to_ms(*force_after);
    o.wait.stall_after_ms = to_ms(stall_after);
    o.refcnt_timeout_ms = to_ms(refcnt_timeout);
    o.keep_replaced = keep_replaced;
    return o;
  }
};

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"kpatch-load: load livepatch modules safely, watch their transition, unload, install, roll back"};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  std::string root = "/";
  std::string state_dir = "/var/lib/kpatch-gen";
  bool quiet = false;
  app.add_option("--root", root, "Read sysfs/procfs and the state dir below this directory (tests)")
      ->envname("KPATCH_LOAD_ROOT");
  app.add_option("--state-dir", state_dir, "State directory, inside --root (default /var/lib/kpatch-gen)")
      ->envname("KPATCH_LOAD_STATE_DIR");
  app.add_flag("-q,--quiet", quiet, "Print only warnings and errors");

  WaitFlags wf;
  std::string module, name;
  bool installed = false, ignore_cmdline = false, keep_replaced = false, all = false, json = false, install_load = false;

  CLI::App *load = app.add_subcommand("load", "Load a livepatch module and wait for its transition");
  load->add_option("MODULE", module, "The livepatch module (.ko)");
  load->add_flag("--installed", installed, "Load the newest installed patch (what kpatch-gen.service runs at boot)");
  load->add_flag("--ignore-cmdline", ignore_cmdline, "With --installed: load even if the kernel command line has "
                                                     "kpatch_gen.disable");
  load->add_flag("--keep-replaced", keep_replaced, "Leave the modules of patches this one replaces loaded");
  wf.add(load);

  CLI::App *unload = app.add_subcommand("unload", "Disable a livepatch, wait for the transition, remove its module");
  unload->add_option("NAME", name, "Module name of the patch");
  unload->add_flag("--all", all, "Every loaded livepatch module, newest first");
  wf.add(unload);

  app.add_subcommand("list", "One line per loaded livepatch, and the installed ones");
  CLI::App *status = app.add_subcommand("status", "Patches, objects, functions, target kernels, pending tasks");
  status->add_flag("--json", json, "Machine-readable output");

  CLI::App *install = app.add_subcommand("install", "Keep a cumulative patch for this kernel and load it at boot");
  install->add_option("MODULE", module, "The livepatch module (.ko)")->required();
  install->add_flag("--load", install_load, "Also load it now");
  wf.add(install);

  CLI::App *uninstall = app.add_subcommand("uninstall", "Stop loading an installed patch at boot");
  uninstall->add_option("NAME", name, "Module name of the installed patch")->required();

  CLI::App *rb = app.add_subcommand("rollback", "Go back to the previously installed patch (or to none)");
  wf.add(rb);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    app.exit(e);
    return static_cast<int>(ExitCode::Usage);
  }

  Diag diag(stderr);
  auto usage = [&](const std::string &msg) {
    diag.error(Location(), msg);
    return static_cast<int>(ExitCode::Usage);
  };
  if (load->parsed() && module.empty() == !installed)
    return usage("load: give either MODULE or --installed");
  if (unload->parsed() && name.empty() == !all)
    return usage("unload: give either NAME or --all");

  RootFs fs(root == "/" ? "" : root);
  LinuxModuleSyscalls sys;
  SteadyClock clock;
  Host host{fs, sys, clock};
  ConsoleReporter rep(diag, clock, quiet);

  // The store is per running release; without a readable release only list/status work.
  std::optional<Store> store;
  std::string release_problem;
  if (auto k = probe_kernel(fs))
    store.emplace(fs, state_dir, k->release, read_boot_id(fs));
  else
    release_problem = k.error().str();
  auto need_store = [&]() -> bool {
    if (!store)
      diag.error(Location(), "cannot find the state directory without the running kernel's release: " + release_problem);
    return store.has_value();
  };

  OpResult res;
  if (load->parsed()) {
    LoadOptions o = wf.options(keep_replaced);
    if (installed) {
      if (!need_store())
        return static_cast<int>(ExitCode::Error);
      res = load_installed(host, rep, *store, o, ignore_cmdline);
    } else {
      res = load_module(host, rep, store ? &*store : nullptr, module, o);
    }
  } else if (unload->parsed()) {
    LoadOptions o = wf.options(false);
    res = all ? unload_all(host, rep, store ? &*store : nullptr, o) : unload_patch(host, rep, store ? &*store : nullptr, name, o);
  } else if (app.got_subcommand("list") || status->parsed()) {
    Snapshot s = take_snapshot(host, store ? &*store : nullptr);
    if (json)
      std::fputs((snapshot_json(s).dump(2) + "\n").c_str(), stdout);
    else
      std::fputs((app.got_subcommand("list") ? format_list(s) : format_status(s)).c_str(), stdout);
    return 0;
  } else if (install->parsed()) {
    if (!need_store())
      return static_cast<int>(ExitCode::Error);
    res = install_module(host, rep, *store, module);
    if (res.code == ExitCode::Ok && install_load)
      res = load_installed(host, rep, *store, wf.options(false), /*ignore_cmdline=*/true);
  } else if (uninstall->parsed()) {
    if (!need_store())
      return static_cast<int>(ExitCode::Error);
    res = uninstall_module(host, rep, *store, name);
  } else if (rb->parsed()) {
    if (!need_store())
      return static_cast<int>(ExitCode::Error);
    res = rollback(host, rep, *store, wf.options(false));
  }

  for (const std::string &e : res.errors)
    diag.error(Location(), e);
  return static_cast<int>(res.code);
}
