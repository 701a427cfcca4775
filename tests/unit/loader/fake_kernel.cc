// SPDX-License-Identifier: GPL-2.0-only
#include "fake_kernel.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "modinfo.h"

namespace fs = std::filesystem;

namespace kpg::load::test {

static std::string build_id_notes(const std::optional<std::string> &hex) {
  std::string out;
  auto put32 = [&](u32 v) { out.append(reinterpret_cast<const char *>(&v), 4); };
  auto pad = [&]() {
    while (out.size() % 4)
      out += '\0';
  };
  // A "Xen" note first, as x86 kernels with CONFIG_XEN have, so the parser has to skip one.
  put32(4);
  put32(8);
  put32(6);
  out.append("Xen\0", 4);
  out.append(8, '\x11');
  if (hex) {
    std::string desc;
    for (size_t i = 0; i + 1 < hex->size(); i += 2)
      desc += static_cast<char>(std::stoi(hex->substr(i, 2), nullptr, 16));
    put32(4);
    put32(static_cast<u32>(desc.size()));
    put32(3);
    out.append("GNU\0", 4);
    out += desc;
    pad();
  }
  // And a "Linux" note after it.
  put32(6);
  put32(4);
  put32(0x100);
  out.append("Linux\0", 6);
  pad();
  out.append("\x01\x02\x03\x04", 4);
  return out;
}

FakeKernel::FakeKernel(std::string root, std::string release) : root_(std::move(root)), fs_(root_) {
  fs::create_directories(root_ + "/sys/kernel/livepatch");
  fs::create_directories(root_ + "/sys/module");
  fs::create_directories(root_ + "/proc/sys/kernel/random");
  write_tree_file("/proc/sys/kernel/osrelease", release + "\n");
  write_tree_file("/proc/sys/kernel/version", "#1 SMP PREEMPT_DYNAMIC Thu Jan  1 00:00:00 UTC 2026\n");
  write_tree_file("/proc/sys/kernel/random/boot_id", "3f1c2a9e-boot-1\n");
  write_tree_file("/proc/cmdline", "console=ttyS0 quiet\n");
  write_tree_file("/proc/kallsyms", "ffffffff81000000 T _text\n"
                                    "ffffffff81100000 T module_refcount\n"
                                    "ffffffff81100100 T module_layout\n"
                                    "ffffffff81200000 t cmdline_proc_show\n");
  set_build_id(std::string("0123456789abcdef0123456789abcdef01234567"));
  write_proc_modules();
  add_task({1, 1, "init", {"[<0>] do_wait+0x1/0x2"}, 0});
  add_task({2, 2, "kthreadd", {"[<0>] kthreadd+0x1/0x2"}, 0});
}

void FakeKernel::write_tree_file(const std::string &path, const std::string &data) {
  std::string hp = root_ + path;
  fs::create_directories(fs::path(hp).parent_path());
  std::ofstream(hp, std::ios::binary | std::ios::trunc) << data;
}

void FakeKernel::remove_tree(const std::string &path) { fs::remove_all(root_ + path); }

void FakeKernel::set_build_id(std::optional<std::string> hex) { write_tree_file("/sys/kernel/notes", build_id_notes(hex)); }

void FakeKernel::add_task(Task t) {
  tasks_.push_back(std::move(t));
  write_task(tasks_.back());
}

FakeKernel::Task *FakeKernel::task(i32 tid) {
  for (Task &t : tasks_)
    if (t.tid == tid)
      return &t;
  return nullptr;
}

void FakeKernel::set_stuck(i32 tid, bool patching, bool unpatching) {
  Task *t = task(tid);
  t->stuck_patching = patching;
  t->stuck_unpatching = unpatching;
}

void FakeKernel::add_extra_ref(const std::string &module, i64 n) {
  extra_refs_[module] += n;
  if (auto it = modules_.find(module); it != modules_.end()) {
    it->second.refcnt += n;
    write_module(it->second);
  }
}

bool FakeKernel::patch_enabled(const std::string &p) const {
  auto it = patches_.find(p);
  return it != patches_.end() && it->second.enabled;
}

bool FakeKernel::logged(const std::string &entry) const { return log_index(entry) != std::string::npos; }

size_t FakeKernel::log_index(const std::string &entry) const {
  for (size_t i = 0; i < log_.size(); i++)
    if (log_[i] == entry)
      return i;
  return std::string::npos;
}

void FakeKernel::write_task(const Task &t) {
  std::string base = fmt::format("/proc/{}/task/{}", t.pid, t.tid);
  write_tree_file(base + "/patch_state", fmt::format("{}\n", t.state));
  write_tree_file(base + "/comm", t.comm + "\n");
  if (t.stack_readable) {
    std::string st;
    for (const std::string &l : t.stack)
      st += l + "\n";
    write_tree_file(base + "/stack", st);
  }
}

void FakeKernel::write_module(const Module &m) {
  std::string base = "/sys/module/" + m.name;
  write_tree_file(base + "/initstate", "live\n");
  write_tree_file(base + "/refcnt", fmt::format("{}\n", m.refcnt));
  write_tree_file(base + "/taint", m.livepatch ? "OK\n" : "O\n");
}

void FakeKernel::write_proc_modules() {
  std::string text;
  for (auto it = module_order_.rbegin(); it != module_order_.rend(); ++it) // newest first
    text += fmt::format("{} 16384 {} - Live 0xffffffffc0000000 (OK)\n", *it, modules_.at(*it).refcnt);
  write_tree_file("/proc/modules", text);
}

void FakeKernel::write_patch_files(const Patch &p) {
  std::string base = "/sys/kernel/livepatch/" + p.name;
  bool in_tr = transition_ && transition_->patch == p.name;
  write_tree_file(base + "/enabled", p.enabled ? "1\n" : "0\n");
  write_tree_file(base + "/transition", in_tr ? "1\n" : "0\n");
  write_tree_file(base + "/force", "");
  if (replace_attr)
    write_tree_file(base + "/replace", p.def.replace ? "1\n" : "0\n");
  for (const Obj &o : p.def.objs) {
    write_tree_file(base + "/" + o.name + "/patched", "1\n");
    for (const Func &f : o.funcs)
      fs::create_directories(root_ + base + "/" + o.name + "/" + fmt::format("{},{}", f.name, f.sympos));
  }
}

void FakeKernel::start_transition(const std::string &patch, int target) {
  transition_ = Transition{patch, target, now_, now_};
  // klp_init_transition: every task starts in the opposite state.
  for (Task &t : tasks_) {
    t.state = !target;
    write_task(t);
  }
  write_patch_files(patches_.at(patch));
  check_transition(); // __klp_enable_patch / __klp_disable_patch try right away
}

void FakeKernel::check_transition() {
  if (!transition_)
    return;
  bool all = true;
  for (Task &t : tasks_) {
    if (t.state == transition_->target || t.state == -1)
      continue;
    bool stuck = transition_->target == 1 ? t.stuck_patching : t.stuck_unpatching;
    if (!stuck && now_ - transition_->start >= t.switch_delay_ms) {
      t.state = transition_->target;
      write_task(t);
    } else {
      all = false;
    }
  }
  if (all)
    complete_transition();
  else
    transition_->next_check = now_ + 1000;
}

void FakeKernel::complete_transition() {
  Transition tr = *transition_;
  transition_.reset();
  for (Task &t : tasks_) {
    t.state = -1;
    write_task(t);
  }
  Patch &p = patches_.at(tr.patch);
  write_patch_files(p);
  log_.push_back(fmt::format("complete {} {}", tr.patch, tr.target));
  if (tr.target == 0) {
    pending_frees_.push_back({now_ + p.def.free_delay_ms, p.name});
  } else if (p.def.replace) {
    std::vector<std::string> others;
    for (const std::string &o : patch_order_)
      if (o != p.name)
        others.push_back(o);
    for (const std::string &o : others)
      pending_frees_.push_back({now_ + p.def.free_delay_ms, o});
  }
  run_until(now_); // zero-delay frees happen now
}

void FakeKernel::free_patch(const std::string &name) {
  auto it = patches_.find(name);
  if (it == patches_.end())
    return;
  bool forced = it->second.forced;
  patches_.erase(it);
  patch_order_.erase(std::remove(patch_order_.begin(), patch_order_.end(), name), patch_order_.end());
  remove_tree("/sys/kernel/livepatch/" + name);
  // klp_free_patch_finish: module_put unless the patch was forced.
  if (!forced) {
    if (auto m = modules_.find(name); m != modules_.end()) {
      m->second.refcnt--;
      write_module(m->second);
      write_proc_modules();
    }
  }
}

void FakeKernel::run_until(i64 t) {
  for (;;) {
    i64 next = t + 1;
    for (const Event &e : events_)
      next = std::min(next, e.t);
    for (const auto &f : pending_frees_)
      next = std::min(next, f.first);
    if (transition_)
      next = std::min(next, transition_->next_check);
    if (next > t)
      break;
    now_ = std::max(now_, next);
    for (size_t i = 0; i < events_.size();) {
      if (events_[i].t <= now_) {
        auto fn = std::move(events_[i].fn);
        events_.erase(events_.begin() + static_cast<long>(i));
        fn();
      } else {
        i++;
      }
    }
    for (size_t i = 0; i < pending_frees_.size();) {
      if (pending_frees_[i].first <= now_) {
        std::string n = pending_frees_[i].second;
        pending_frees_.erase(pending_frees_.begin() + static_cast<long>(i));
        free_patch(n);
      } else {
        i++;
      }
    }
    if (transition_ && transition_->next_check <= now_)
      check_transition();
  }
  now_ = std::max(now_, t);
}

void FakeKernel::sleep_ms(i64 ms) {
  sleeps_.push_back(ms);
  run_until(now_ + ms);
}

int FakeKernel::load_module(const std::string &host_path, const std::string &) {
  auto mi = read_modinfo(host_path);
  if (!mi) {
    log_.push_back("finit ?");
    return ENOEXEC;
  }
  const std::string name = mi->name;
  log_.push_back("finit " + name);
  if (modules_.count(name))
    return EEXIST;
  PatchDef def = defs_.count(name) ? defs_.at(name) : PatchDef{};
  if (def.load_errno)
    return def.load_errno;
  if (mi->is_livepatch() && transition_)
    return EBUSY; // klp_enable_patch: another transition in progress
  run_until(now_ + def.load_ms); // reading, relocating and initialising the module
  Module m{name, mi->is_livepatch(), mi->is_livepatch() ? 1 : 0};
  m.refcnt += extra_refs_[name];
  modules_[name] = m;
  module_order_.push_back(name);
  write_module(m);
  write_proc_modules();
  if (m.livepatch) {
    patches_[name] = Patch{name, def, true, false};
    patch_order_.push_back(name);
    start_transition(name, 1);
  }
  return 0;
}

void FakeKernel::preload(const std::string &module, bool livepatch) {
  std::string dir = root_ + "/preload";
  fs::create_directories(dir);
  PatchDef def = defs_.count(module) ? defs_.at(module) : PatchDef{};
  Module m{module, livepatch, livepatch ? 1 : 0};
  modules_[module] = m;
  module_order_.push_back(module);
  write_module(m);
  write_proc_modules();
  if (livepatch) {
    patches_[module] = Patch{module, def, true, false};
    patch_order_.push_back(module);
    start_transition(module, 1);
    while (transition_)
      run_until(transition_->next_check);
  }
  log_.push_back("preload " + module);
}

int FakeKernel::delete_module(const std::string &name) {
  log_.push_back("delete " + name);
  auto it = modules_.find(name);
  if (it == modules_.end())
    return ENOENT;
  if (it->second.refcnt > 0)
    return EWOULDBLOCK;
  modules_.erase(it);
  module_order_.erase(std::remove(module_order_.begin(), module_order_.end(), name), module_order_.end());
  remove_tree("/sys/module/" + name);
  write_proc_modules();
  return 0;
}

int FakeKernel::write_attr(const std::string &path, std::string_view data) {
  const std::string prefix = "/sys/kernel/livepatch/";
  if (!path.starts_with(prefix))
    return fs_.write_attr(path, data);
  std::string rest = path.substr(prefix.size());
  size_t slash = rest.find('/');
  std::string patch = rest.substr(0, slash), attr = slash == std::string::npos ? "" : rest.substr(slash + 1);
  std::string v(data);
  while (!v.empty() && v.back() == '\n')
    v.pop_back();
  log_.push_back(fmt::format("write {} {} {}", patch, attr, v));
  auto it = patches_.find(patch);
  if (it == patches_.end())
    return ENOENT;
  Patch &p = it->second;
  if (v != "0" && v != "1")
    return EINVAL; // kstrtobool
  bool val = v == "1";
  if (attr == "enabled") {
    if (p.enabled == val)
      return EINVAL;
    if (transition_ && transition_->patch == patch) {
      // klp_reverse_transition: flip target; already switched tasks become pending.
      p.enabled = val;
      transition_->target = val ? 1 : 0;
      transition_->start = now_;
      write_patch_files(p);
      check_transition();
      return 0;
    }
    if (transition_)
      return val ? EINVAL : EBUSY;
    if (val)
      return EINVAL; // a disabled patch cannot be re-enabled
    p.enabled = false;
    start_transition(patch, 0);
    return 0;
  }
  if (attr == "force") {
    if (!val)
      return 0;
    if (!transition_ || transition_->patch != patch)
      return EINVAL;
    for (Task &t : tasks_) {
      t.state = transition_->target;
      write_task(t);
    }
    if (transition_->target == 0)
      p.forced = true;
    else if (p.def.replace)
      for (auto &[n, other] : patches_)
        if (n != patch)
          other.forced = true;
    log_.push_back("forced " + patch);
    return 0;
  }
  return EINVAL;
}

} // namespace kpg::load::test
