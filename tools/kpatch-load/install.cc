// SPDX-License-Identifier: GPL-2.0-only
#include "install.h"

#include <sstream>

#include <fmt/format.h>

namespace kpg::load {

bool cmdline_disables(const std::string &cmdline) {
  // Same rule as systemd's ConditionKernelCommandLine= with a bare word: the word itself or
  // the left-hand side of an assignment (kpatch_gen.disable=1) counts.
  std::istringstream in(cmdline);
  std::string w;
  while (in >> w)
    if (w == kDisableSwitch || w.starts_with(std::string(kDisableSwitch) + "="))
      return true;
  return false;
}

static bool active(Fs &fs, const std::string &name) {
  PatchState st = read_patch_state(fs, name);
  return st.present && st.enabled.value_or(false);
}

OpResult install_module(Host &host, Reporter &rep, Store &store, const std::string &ko_path) {
  OpResult res;
  // Install only what `load` would accept now: a patch installed for the wrong kernel would
  // otherwise only fail at the next boot, when nobody is watching.
  auto checked = check_module(host, rep, res, ko_path, "installed");
  if (!checked)
    return res;
  const ModInfo &mi = checked->info;
  const RunningKernel &kernel = checked->kernel;
  auto st = store.read_installed();
  if (!st) {
    res.fail(ExitCode::Error, st.error().str());
    return res;
  }
  InstalledPatch p;
  p.seq = st->next_seq++;
  p.name = mi.name;
  p.file = fmt::format("modules/{:04}-{}.ko", p.seq, p.name);
  p.source = ko_path;
  p.installed_at = host.clock.wall_time();
  if (!st->stack.empty() && st->stack.back().name == p.name)
    rep.warn(fmt::format("{}: the previous installed patch has the same module name; `rollback` will not be able to "
                         "swap the two while one is loaded (the kernel refuses a second module of one name)",
                         p.name));
  if (auto d = host.fs.make_dirs(store.dir() + "/modules"); !d) {
    res.fail(ExitCode::Error, d.error().str());
    return res;
  }
  if (auto c = host.fs.copy_in(ko_path, store.module_path(p)); !c) {
    res.fail(ExitCode::Error, fmt::format("{}: cannot install: {}", ko_path, c.error().str()));
    return res;
  }
  st->stack.push_back(p);
  st->history.push_back({p.installed_at, "install", p.name, ""});
  if (auto w = store.write_installed(*st); !w) {
    (void)host.fs.remove_file(store.module_path(p));
    res.fail(ExitCode::Error, fmt::format("{}: cannot record the installation: {}", ko_path, w.error().str()));
    return res;
  }
  rep.step(fmt::format("{}: installed as {} ({} installed for {}); it is loaded at boot", p.name, store.module_path(p),
                       st->stack.size(), kernel.release));
  return res;
}

OpResult uninstall_module(Host &host, Reporter &rep, Store &store, const std::string &name) {
  OpResult res;
  auto st = store.read_installed();
  if (!st) {
    res.fail(ExitCode::Error, st.error().str());
    return res;
  }
  bool was_top = !st->stack.empty() && st->stack.back().name == name;
  std::vector<InstalledPatch> keep;
  std::vector<InstalledPatch> gone;
  for (InstalledPatch &p : st->stack)
    (p.name == name ? gone : keep).push_back(p);
  if (gone.empty()) {
    res.fail(ExitCode::Error, fmt::format("{}: not installed in {}", name, store.dir()));
    return res;
  }
  st->stack = std::move(keep);
  st->history.push_back({host.clock.wall_time(), "uninstall", name, ""});
  if (auto w = store.write_installed(*st); !w) {
    res.fail(ExitCode::Error, fmt::format("{}: cannot record the uninstallation: {}", name, w.error().str()));
    return res;
  }
  for (const InstalledPatch &p : gone)
    if (auto r = host.fs.remove_file(store.module_path(p)); !r)
      rep.warn(r.error().str());
  rep.step(fmt::format("{}: uninstalled{}", name,
                       st->stack.empty() ? "; nothing is loaded at boot any more"
                                         : fmt::format("; {} is loaded at boot", st->stack.back().name)));
  if (was_top && active(host.fs, name))
    rep.note(fmt::format("{}: still loaded and active; `kpatch-load unload {}` removes it now", name, name));
  return res;
}

OpResult load_installed(Host &host, Reporter &rep, Store &store, const LoadOptions &opts, bool ignore_cmdline) {
  OpResult res;
  if (!ignore_cmdline) {
    if (auto cmd = host.fs.read("/proc/cmdline"); cmd && cmdline_disables(*cmd)) {
      rep.step(fmt::format("kernel command line contains {}: not loading installed patches", kDisableSwitch));
      return res;
    }
  }
  auto st = store.read_installed();
  if (!st) {
    res.fail(ExitCode::Error, st.error().str());
    return res;
  }
  if (st->stack.empty()) {
    rep.step(fmt::format("nothing installed in {}", store.dir()));
    return res;
  }
  const InstalledPatch &top = st->stack.back();
  if (active(host.fs, top.name)) {
    rep.step(fmt::format("{}: already loaded and active", top.name));
    return res;
  }
  return load_module(host, rep, &store, host.fs.host_path(store.module_path(top)), opts);
}

OpResult rollback(Host &host, Reporter &rep, Store &store, const LoadOptions &opts) {
  OpResult res;
  auto st = store.read_installed();
  if (!st) {
    res.fail(ExitCode::Error, st.error().str());
    return res;
  }
  if (st->stack.empty()) {
    res.fail(ExitCode::Error, fmt::format("nothing installed in {}: nothing to roll back", store.dir()));
    return res;
  }
  const InstalledPatch top = st->stack.back();
  const bool top_live = active(host.fs, top.name);
  std::string to;
  if (st->stack.size() >= 2) {
    const InstalledPatch prev = st->stack[st->stack.size() - 2];
    to = prev.name;
    if (top_live) {
      if (prev.name == top.name) {
        res.fail(ExitCode::Error, fmt::format("{}: cannot roll back to an installed patch with the same module name "
                                              "while it is loaded; unload it and load the previous one instead",
                                              top.name));
        return res;
      }
      rep.step(fmt::format("rolling back from {} to {}", top.name, prev.name));
      LoadOptions lo = opts;
      lo.keep_replaced = false;
      OpResult lr = load_module(host, rep, &store, host.fs.host_path(store.module_path(prev)), lo);
      res.merge(lr);
      res.transition_ms = lr.transition_ms;
      if (lr.code != ExitCode::Ok && lr.code != ExitCode::Forced)
        return res; // the stack stays as it was: the running system did not change
      if (read_patch_state(host.fs, top.name).present) {
        res.fail(ExitCode::Error, fmt::format("{}: loaded, but {} is still active: {} is not a replace-mode "
                                              "(cumulative) patch; the installed stack was not changed",
                                              prev.name, top.name, prev.name));
        return res;
      }
    } else {
      rep.note(fmt::format("{}: not active now; only the boot configuration changes (to {})", top.name, prev.name));
    }
  } else {
    if (top_live || !loaded_livepatch_modules(host.fs).empty()) {
      rep.step(fmt::format("rolling back from {} to no patch: unloading every livepatch", top.name));
      OpResult ur = unload_all(host, rep, &store, opts);
      res.merge(ur);
      if (ur.code != ExitCode::Ok)
        return res;
    }
  }
  st->stack.pop_back();
  st->history.push_back({host.clock.wall_time(), "rollback", top.name, to});
  if (auto w = store.write_installed(*st); !w) {
    res.fail(ExitCode::Error, fmt::format("rolled back, but cannot record it: {}", w.error().str()));
    return res;
  }
  if (auto r = host.fs.remove_file(store.module_path(top)); !r)
    rep.warn(r.error().str());
  rep.step(to.empty() ? fmt::format("rolled back from {} to no patch", top.name)
                      : fmt::format("rolled back from {} to {}", top.name, to));
  return res;
}

} // namespace kpg::load
