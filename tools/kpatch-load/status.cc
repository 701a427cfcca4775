// SPDX-License-Identifier: GPL-2.0-only
#include "status.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel.h"
#include "loader.h"

namespace kpg::load {

using json = nlohmann::ordered_json;

static std::string state_word(const PatchState &st) {
  if (!st.enabled || !st.transition)
    return "unknown";
  if (*st.transition)
    return *st.enabled ? "patching" : "unpatching";
  return *st.enabled ? "enabled" : "disabled";
}

Snapshot take_snapshot(Host &host, Store *store) {
  Snapshot s;
  if (auto k = probe_kernel(host.fs)) {
    s.release = k->release;
    s.build_id = k->build_id;
  }
  std::vector<std::string> order = loaded_livepatch_modules(host.fs);
  std::reverse(order.begin(), order.end()); // oldest first reads like a stack, bottom up
  TaskScan scan;
  bool scanned = false;
  for (const std::string &name : order) {
    PatchStatus ps;
    ps.info = read_patch_info(host.fs, name);
    ps.refcnt = module_refcnt(host.fs, name);
    if (!ps.info.state.present) {
      s.inactive.emplace_back(name, ps.refcnt);
      continue;
    }
    ps.state = state_word(ps.info.state);
    if (store)
      ps.record = store->loaded_record(name);
    if (ps.info.state.transition.value_or(false) && ps.info.state.enabled) {
      if (!scanned) {
        scan = scan_tasks(host.fs);
        scanned = true;
      }
      // /proc/<pid>/task/<tid>/patch_state is mode 0400: without root nothing is readable,
      // and "0 pending" would be a lie.
      if (scan.tasks.empty() && !scan.problem.empty())
        ps.pending_problem = scan.problem;
      for (const TaskRef &t : pending_tasks(scan, *ps.info.state.enabled ? kPatched : kUnpatched)) {
        Blocker b = describe_task(host.fs, t, {});
        ps.pending.push_back({t.pid, t.tid, b.comm});
      }
    }
    s.patches.push_back(std::move(ps));
  }
  if (store) {
    s.store_dir = store->dir();
    if (auto st = store->read_installed())
      s.installed = std::move(*st);
    else
      s.installed_problem = st.error().str();
  }
  return s;
}

static json opt_json(const std::optional<std::string> &v) { return v ? json(*v) : json(nullptr); }
static json opt_json(const std::optional<i64> &v) { return v ? json(*v) : json(nullptr); }
static json opt_json(const std::optional<bool> &v) { return v ? json(*v) : json(nullptr); }
static json nonempty(const std::string &v) { return v.empty() ? json(nullptr) : json(v); }

json snapshot_json(const Snapshot &s) {
  json j;
  j["kernel"] = {{"release", s.release}, {"build_id", opt_json(s.build_id)}};
  j["patches"] = json::array();
  for (const PatchStatus &p : s.patches) {
    json pj;
    pj["name"] = p.info.state.name;
    pj["state"] = p.state;
    pj["enabled"] = opt_json(p.info.state.enabled);
    pj["transition"] = opt_json(p.info.state.transition);
    pj["replace"] = opt_json(p.info.state.replace);
    pj["problem"] = nonempty(p.info.state.problem);
    pj["refcnt"] = opt_json(p.refcnt);
    if (p.record) {
      pj["target_kernel"] = {{"release", nonempty(p.record->target_release)},
                             {"build_id", nonempty(p.record->target_build_id)},
                             {"vermagic", nonempty(p.record->vermagic)}};
      pj["loaded_from"] = p.record->path;
      pj["loaded_at"] = p.record->loaded_at;
    } else {
      pj["target_kernel"] = nullptr; // unknown: not loaded by kpatch-load in this boot
      pj["loaded_from"] = nullptr;
      pj["loaded_at"] = nullptr;
    }
    pj["objects"] = json::array();
    for (const KlpObject &o : p.info.objects) {
      json oj = {{"name", o.name}, {"patched", opt_json(o.patched)}, {"functions", json::array()}};
      for (const KlpFunc &f : o.funcs)
        oj["functions"].push_back({{"name", f.name}, {"sympos", f.sympos}});
      pj["objects"].push_back(oj);
    }
    pj["pending_tasks"] = json::array();
    for (const PendingTask &t : p.pending)
      pj["pending_tasks"].push_back({{"pid", t.pid}, {"tid", t.tid}, {"comm", t.comm}});
    if (!p.pending_problem.empty())
      pj["pending_tasks"] = nullptr; // unknown, see pending_problem
    pj["pending_problem"] = nonempty(p.pending_problem);
    j["patches"].push_back(pj);
  }
  j["inactive_modules"] = json::array();
  for (const auto &[name, ref] : s.inactive)
    j["inactive_modules"].push_back({{"name", name}, {"refcnt", opt_json(ref)}});
  json inst = {{"dir", nonempty(s.store_dir)}, {"problem", nonempty(s.installed_problem)}, {"patches", json::array()},
               {"boot_patch", nullptr}};
  if (s.installed) {
    for (const InstalledPatch &p : s.installed->stack)
      inst["patches"].push_back({{"seq", p.seq}, {"name", p.name}, {"file", p.file}, {"installed_at", p.installed_at}});
    if (!s.installed->stack.empty())
      inst["boot_patch"] = s.installed->stack.back().name;
  }
  j["installed"] = inst;
  return j;
}

static std::string target_text(const PatchStatus &p) {
  if (!p.record)
    return "unknown";
  std::string rel = !p.record->target_release.empty() ? p.record->target_release
                    : p.record->vermagic.empty()     ? "?"
                                                     : p.record->vermagic.substr(0, p.record->vermagic.find(' '));
  return p.record->target_build_id.empty() ? rel : fmt::format("{} (build ID {})", rel, p.record->target_build_id);
}

std::string format_list(const Snapshot &s) {
  std::string out;
  if (s.patches.empty() && s.inactive.empty())
    out += "no livepatches loaded\n";
  for (const PatchStatus &p : s.patches) {
    out += fmt::format("{:<24} {:<10}", p.info.state.name, p.state);
    if (!p.pending_problem.empty())
      out += " (pending tasks unknown)";
    else if (!p.pending.empty())
      out += fmt::format(" ({} tasks pending)", p.pending.size());
    out += fmt::format("  target kernel: {}\n", target_text(p));
  }
  for (const auto &[name, ref] : s.inactive)
    out += fmt::format("{:<24} {:<10} (module loaded, patch replaced or disabled)\n", name, "inactive");
  if (s.installed && !s.installed->stack.empty()) {
    out += fmt::format("installed for {} ({}):\n", s.release, s.store_dir);
    for (const InstalledPatch &p : s.installed->stack)
      out += fmt::format("  {:<22} installed {}{}\n", p.name, p.installed_at,
                         &p == &s.installed->stack.back() ? "  <- loaded at boot" : "");
  }
  return out;
}

std::string format_status(const Snapshot &s) {
  std::string out = fmt::format("kernel {} (build ID {})\n", s.release, s.build_id.value_or("unknown"));
  for (const PatchStatus &p : s.patches) {
    out += fmt::format("\n{}: {}{}\n", p.info.state.name, p.state,
                       !p.info.state.replace ? "" : *p.info.state.replace ? " (atomic replace)" : " (not replacing)");
    if (!p.info.state.problem.empty())
      out += fmt::format("  problem: {}\n", p.info.state.problem);
    out += fmt::format("  target kernel: {}\n", target_text(p));
    if (p.record)
      out += fmt::format("  loaded from {} at {}\n", p.record->path, p.record->loaded_at);
    out += fmt::format("  module refcnt: {}\n", p.refcnt ? std::to_string(*p.refcnt) : std::string("unknown"));
    for (const KlpObject &o : p.info.objects) {
      out += fmt::format("  object {} ({})\n", o.name,
                         !o.patched ? "patched: unknown" : *o.patched ? "patched" : "not patched: not loaded");
      for (const KlpFunc &f : o.funcs)
        out += fmt::format("    {},{}\n", f.name, f.sympos);
    }
    if (!p.pending_problem.empty()) {
      out += fmt::format("  tasks not yet switched: unknown ({})\n", p.pending_problem);
    } else if (p.state == "patching" || p.state == "unpatching") {
      out += fmt::format("  tasks not yet switched: {}\n", p.pending.size());
      for (const PendingTask &t : p.pending)
        out += fmt::format("    pid {} tid {} ({})\n", t.pid, t.tid, t.comm);
    }
  }
  for (const auto &[name, ref] : s.inactive)
    out += fmt::format("\n{}: inactive (patch replaced or disabled; module loaded, refcnt {})\n", name,
                       ref ? std::to_string(*ref) : std::string("unknown"));
  if (!s.store_dir.empty()) {
    out += fmt::format("\ninstalled ({}):\n", s.store_dir);
    if (!s.installed_problem.empty())
      out += fmt::format("  problem: {}\n", s.installed_problem);
    else if (!s.installed || s.installed->stack.empty())
      out += "  none\n";
    else
      for (const InstalledPatch &p : s.installed->stack)
        out += fmt::format("  {:<22} {} installed {}{}\n", p.name, p.file, p.installed_at,
                           &p == &s.installed->stack.back() ? "  <- loaded at boot" : "");
  }
  return out;
}

} // namespace kpg::load
