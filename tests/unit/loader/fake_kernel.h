// SPDX-License-Identifier: GPL-2.0-only
//
// A simulated 6.1 kernel for the loader's unit tests.
//
// It owns a real directory tree (sysfs/procfs look-alikes under a temp dir) that the loader
// reads through the ordinary RootFs, and it implements the parts that are behaviour rather
// than files: finit_module/delete_module, stores to `enabled` and `force`, and time. Time only
// moves when the loader sleeps; every sleep runs the simulation up to the new time:
//   - a transition re-checks pending tasks at its start and then every 1000 ms (the kernel's
//     klp_transition_work), switching every task that is past its switch delay and not stuck
//     in a function the transition is about;
//   - a completed unpatching transition frees the patch after `free_delay_ms` (directory
//     removed, module reference dropped), as klp_free_patch_start/finish do from work items;
//   - replace-mode patches free the patches they replaced when they complete;
//   - force switches every task and marks patches forced exactly as klp_force_transition();
//   - scheduled test events (at()) fire at their time (corrupting a file, releasing a task).
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sys.h"

namespace kpg::load::test {

class FakeKernel final : public Fs, public ModuleSyscalls, public Clock {
public:
  struct Func {
    std::string name;
    u64 sympos = 1;
  };
  struct Obj {
    std::string name = "vmlinux";
    std::vector<Func> funcs;
  };
  struct PatchDef {
    std::vector<Obj> objs{{"vmlinux", {{"cmdline_proc_show", 1}}}};
    bool replace = true;
    int load_errno = 0;     // finit_module fails with this
    i64 free_delay_ms = 0;  // completion -> directory removed and reference dropped
    i64 load_ms = 0;        // time finit_module takes before the patch is enabled
  };
  struct Task {
    i32 pid = 0, tid = 0;
    std::string comm;
    std::vector<std::string> stack;
    i64 switch_delay_ms = 0;       // not switchable before this long after a transition starts
    bool stuck_patching = false;   // sleeps in old code: never switches to patched
    bool stuck_unpatching = false; // sleeps in new code: never switches back
    bool stack_readable = true;
    int state = -1;
  };

  // A 6.11+ kernel: every patch directory has a `replace` attribute.
  bool replace_attr = false;
  // Creates the tree below `root` for a kernel with `release`.
  FakeKernel(std::string root, std::string release = "6.1.0-kpg");
  Host host() { return Host{*this, *this, *this}; }
  const std::string &root() const { return root_; }

  // Configuration.
  void define_patch(const std::string &module, PatchDef def) { defs_[module] = std::move(def); }
  void add_task(Task t);
  Task *task(i32 tid);
  void set_stuck(i32 tid, bool patching, bool unpatching);
  void at(i64 t_ms, std::function<void()> fn) { events_.push_back({t_ms, std::move(fn)}); }
  void add_extra_ref(const std::string &module, i64 n); // someone else holds the module
  void set_build_id(std::optional<std::string> hex);     // rewrites /sys/kernel/notes
  void write_tree_file(const std::string &path, const std::string &data); // raw, no semantics
  void remove_tree(const std::string &path);
  // Loads a livepatch directly (as if another tool did), running its transition to the end.
  void preload(const std::string &module, bool livepatch = true);

  // Inspection.
  bool module_loaded(const std::string &m) const { return modules_.count(m) != 0; }
  bool patch_present(const std::string &p) const { return patches_.count(p) != 0; }
  bool patch_enabled(const std::string &p) const;
  bool in_transition() const { return transition_.has_value(); }
  const std::vector<std::string> &log() const { return log_; } // syscalls and attribute stores
  const std::vector<i64> &sleeps() const { return sleeps_; }
  bool logged(const std::string &entry) const;
  size_t log_index(const std::string &entry) const; // npos when absent

  // Fs: RootFs underneath; stores to livepatch attributes get kernel semantics.
  Expected<std::string> read(const std::string &path) override { return fs_.read(path); }
  int write_attr(const std::string &path, std::string_view data) override;
  Expected<std::vector<std::string>> list(const std::string &path) override { return fs_.list(path); }
  bool exists(const std::string &path) override { return fs_.exists(path); }
  bool is_dir(const std::string &path) override { return fs_.is_dir(path); }
  Expected<void> write_file_atomic(const std::string &path, const std::string &data) override {
    return fs_.write_file_atomic(path, data);
  }
  Expected<void> make_dirs(const std::string &path) override { return fs_.make_dirs(path); }
  Expected<void> remove_file(const std::string &path) override { return fs_.remove_file(path); }
  Expected<void> copy_in(const std::string &src, const std::string &dst) override { return fs_.copy_in(src, dst); }
  std::string host_path(const std::string &path) const override { return fs_.host_path(path); }

  // ModuleSyscalls.
  int load_module(const std::string &host_path, const std::string &params) override;
  int delete_module(const std::string &name) override;

  // Clock.
  i64 now_ms() override { return now_; }
  void sleep_ms(i64 ms) override;
  std::string wall_time() override { return "2026-01-01T00:00:00Z"; }

private:
  struct Module {
    std::string name;
    bool livepatch = false;
    i64 refcnt = 0;
  };
  struct Patch {
    std::string name;
    PatchDef def;
    bool enabled = true;
    bool forced = false;
  };
  struct Transition {
    std::string patch;
    int target = 1;
    i64 start = 0;
    i64 next_check = 0;
  };
  struct Event {
    i64 t;
    std::function<void()> fn;
  };

  void start_transition(const std::string &patch, int target);
  void check_transition();   // one klp_try_complete_transition()
  void complete_transition();
  void free_patch(const std::string &name);
  void run_until(i64 t);
  void write_patch_files(const Patch &p);
  void write_task(const Task &t);
  void write_module(const Module &m);
  void write_proc_modules();

  std::string root_;
  RootFs fs_;
  i64 now_ = 0;
  std::map<std::string, PatchDef> defs_;
  std::map<std::string, Module> modules_;
  std::vector<std::string> module_order_; // oldest first
  std::map<std::string, Patch> patches_;
  std::vector<std::string> patch_order_;
  std::map<std::string, i64> extra_refs_;
  std::vector<Task> tasks_;
  std::optional<Transition> transition_;
  std::vector<std::pair<i64, std::string>> pending_frees_;
  std::vector<Event> events_;
  std::vector<std::string> log_;
  std::vector<i64> sleeps_;
};

} // namespace kpg::load::test
