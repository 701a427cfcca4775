// SPDX-License-Identifier: GPL-2.0-only
#include "livepatch.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include <fmt/format.h>

namespace kpg::load {

static std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos)
    return {};
  return s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
}

static bool all_digits(const std::string &s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<bool> parse_bool_attr(const std::string &s) {
  std::string t = trim(s);
  if (t == "0")
    return false;
  if (t == "1")
    return true;
  return std::nullopt;
}

std::optional<i64> parse_int_attr(const std::string &s) {
  std::string t = trim(s);
  i64 v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size())
    return std::nullopt;
  return v;
}

// Quoted and shortened file content for messages about garbage in sysfs.
static std::string shown(const std::string &s) {
  std::string t = trim(s);
  if (t.size() > 40) {
    t.resize(40);
    t.append("...");
  }
  return fmt::format("'{}'", t);
}

PatchState read_patch_state(Fs &fs, const std::string &name) {
  PatchState st;
  st.name = name;
  std::string dir = kLivepatchDir + "/" + name;
  st.present = fs.is_dir(dir);
  if (!st.present)
    return st;
  auto read_bool = [&](const char *attr, std::optional<bool> &out) {
    std::string path = dir + "/" + attr;
    auto text = fs.read(path);
    if (!text) {
      if (st.problem.empty())
        st.problem = text.error().str();
      return;
    }
    out = parse_bool_attr(*text);
    if (!out && st.problem.empty())
      st.problem = fmt::format("{} contains {}, expected 0 or 1", path, shown(*text));
  };
  read_bool("enabled", st.enabled);
  read_bool("transition", st.transition);
  if (auto text = fs.read(dir + "/replace")) // optional: 6.11+
    st.replace = parse_bool_attr(*text);
  // The directory may have been removed while we read it (a disable completed): report that
  // as "gone", not as unreadable attributes.
  if (!st.problem.empty() && !fs.is_dir(dir)) {
    st = PatchState{};
    st.name = name;
  }
  return st;
}

PatchInfo read_patch_info(Fs &fs, const std::string &name) {
  PatchInfo info;
  info.state = read_patch_state(fs, name);
  if (!info.state.present)
    return info;
  std::string dir = kLivepatchDir + "/" + name;
  auto entries = fs.list(dir);
  if (!entries)
    return info;
  for (const std::string &obj : *entries) {
    std::string odir = dir + "/" + obj;
    if (!fs.is_dir(odir))
      continue; // enabled, transition, force
    KlpObject o;
    o.name = obj;
    if (auto p = fs.read(odir + "/patched"))
      o.patched = parse_bool_attr(*p);
    if (auto funcs = fs.list(odir)) {
      for (const std::string &f : *funcs) {
        if (!fs.is_dir(odir + "/" + f))
          continue;
        KlpFunc fn;
        size_t comma = f.rfind(',');
        fn.name = f.substr(0, comma);
        if (comma != std::string::npos)
          fn.sympos = static_cast<u64>(parse_int_attr(f.substr(comma + 1)).value_or(1));
        o.funcs.push_back(std::move(fn));
      }
    }
    info.objects.push_back(std::move(o));
  }
  return info;
}

std::vector<std::string> list_patches(Fs &fs) {
  std::vector<std::string> out;
  auto entries = fs.list(kLivepatchDir);
  if (!entries)
    return out;
  for (const std::string &e : *entries)
    if (fs.is_dir(kLivepatchDir + "/" + e))
      out.push_back(e);
  return out;
}

std::set<std::string> patched_function_names(const PatchInfo &p) {
  std::set<std::string> names;
  for (const KlpObject &o : p.objects)
    for (const KlpFunc &f : o.funcs)
      names.insert(f.name);
  return names;
}

TaskScan scan_tasks(Fs &fs) {
  TaskScan scan;
  auto procs = fs.list("/proc");
  if (!procs) {
    scan.problem = procs.error().str();
    return scan;
  }
  for (const std::string &pid : *procs) {
    if (!all_digits(pid))
      continue;
    // Threads vanish between listing and reading all the time; such misses are not problems.
    auto tids = fs.list("/proc/" + pid + "/task");
    if (!tids)
      continue;
    for (const std::string &tid : *tids) {
      if (!all_digits(tid))
        continue;
      std::string path = "/proc/" + pid + "/task/" + tid + "/patch_state";
      auto text = fs.read(path);
      if (!text) {
        if (fs.exists(path)) {
          scan.unreadable++;
          if (scan.problem.empty())
            scan.problem = text.error().str();
        }
        continue;
      }
      std::optional<i64> v = parse_int_attr(*text);
      if (!v || *v < -1 || *v > 1) {
        scan.unreadable++;
        if (scan.problem.empty())
          scan.problem = fmt::format("{} contains {}", path, shown(*text));
        continue;
      }
      scan.tasks.push_back({static_cast<i32>(std::stol(pid)), static_cast<i32>(std::stol(tid)), static_cast<int>(*v)});
    }
  }
  return scan;
}

std::vector<TaskRef> pending_tasks(const TaskScan &scan, int target) {
  std::vector<TaskRef> out;
  for (const TaskRef &t : scan.tasks)
    if (t.state != kUndefined && t.state != target)
      out.push_back(t);
  return out;
}

std::string stack_frame_function(const std::string &line) {
  std::string s = trim(line);
  if (s.starts_with("[<")) {
    size_t close = s.find("] ");
    s = close == std::string::npos ? "" : s.substr(close + 2);
  }
  size_t end = s.find_first_of("+ ");
  return s.substr(0, end);
}

Blocker describe_task(Fs &fs, const TaskRef &t, const std::set<std::string> &patched_funcs) {
  Blocker b;
  b.task = t;
  std::string base = fmt::format("/proc/{}/task/{}", t.pid, t.tid);
  auto c = fs.read(base + "/comm");
  // (std::string(1, '?') rather than "?": GCC 12 warns -Wrestrict on the literal assignment.)
  b.comm = c ? trim(*c) : std::string(1, '?');
  auto st = fs.read(base + "/stack");
  if (!st) {
    b.stack_problem = st.error().str();
    return b;
  }
  std::istringstream in(*st);
  std::string line;
  while (std::getline(in, line)) {
    if (trim(line).empty())
      continue;
    b.stack.push_back(trim(line));
    std::string fn = stack_frame_function(line);
    if (patched_funcs.count(fn))
      b.patched_frames.push_back(fn);
  }
  return b;
}

bool module_loaded(Fs &fs, const std::string &name) {
  // Built-in "modules" with parameters also have /sys/module/<name>; only loaded ones have
  // initstate (and refcnt with CONFIG_MODULE_UNLOAD).
  return fs.exists("/sys/module/" + name + "/initstate") || fs.exists("/sys/module/" + name + "/refcnt");
}

std::optional<i64> module_refcnt(Fs &fs, const std::string &name) {
  auto text = fs.read("/sys/module/" + name + "/refcnt");
  if (!text)
    return std::nullopt;
  return parse_int_attr(*text);
}

bool module_is_livepatch(Fs &fs, const std::string &name) {
  // check_modinfo_livepatch() taints the module with TAINT_LIVEPATCH, shown as 'K'.
  auto text = fs.read("/sys/module/" + name + "/taint");
  return text && text->find('K') != std::string::npos;
}

std::vector<std::string> modules_newest_first(Fs &fs) {
  std::vector<std::string> out;
  auto text = fs.read("/proc/modules");
  if (!text)
    return out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    std::string name = line.substr(0, line.find(' '));
    if (!name.empty())
      out.push_back(name);
  }
  return out;
}

} // namespace kpg::load
