// SPDX-License-Identifier: GPL-2.0-only
//
// Reading the kernel's livepatch and module state (6.1 sysfs/procfs layout).
//
//   /sys/kernel/livepatch/<patch>/enabled        0/1; flips at the *start* of a transition, so
//                                                while transition=1 it names the target state
//   /sys/kernel/livepatch/<patch>/transition     1 while this patch is the transition patch
//   /sys/kernel/livepatch/<patch>/force          write-only
//   /sys/kernel/livepatch/<patch>/<obj>/patched  whether obj's functions are on ftrace stacks
//   /sys/kernel/livepatch/<patch>/<obj>/<func,sympos>/   empty dirs, sympos 1 when 0 was given
//   /proc/<pid>/task/<tid>/patch_state           -1 no transition, 0 unpatched, 1 patched
//   /sys/module/<mod>/refcnt, taint ('K' = livepatch), initstate (loadable modules only)
//   /proc/modules                                newest module first (list_add at the head)
//
// Everything here tolerates missing and malformed files: a patch directory can vanish between
// listing it and reading it (the kernel removes it when a disable completes), and tasks come
// and go while we scan. Readers return what they could read and say what they could not.
#pragma once
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/types.h"
#include "sys.h"

namespace kpg::load {

inline const std::string kLivepatchDir = "/sys/kernel/livepatch";

// Parses a sysfs boolean as the kernel prints it ("0\n"/"1\n"); nullopt for anything else.
std::optional<bool> parse_bool_attr(const std::string &s);
std::optional<i64> parse_int_attr(const std::string &s);

struct PatchState {
  std::string name;
  bool present = false;            // the patch directory exists
  std::optional<bool> enabled;     // nullopt: missing or garbage (see problem)
  std::optional<bool> transition;
  // <patch>/replace (Linux 6.11+, e.g. the 6.12 lab): whether the patch is an atomic replace
  // one. nullopt on older kernels (6.1 has no such file) or when unreadable.
  std::optional<bool> replace;
  std::string problem;             // what could not be read, with the path and the content
};

PatchState read_patch_state(Fs &fs, const std::string &name);

struct KlpFunc {
  std::string name;
  u64 sympos = 1;
};
struct KlpObject {
  std::string name;             // "vmlinux" or a module name
  std::optional<bool> patched;  // nullopt when <obj>/patched is unreadable
  std::vector<KlpFunc> funcs;
};
struct PatchInfo {
  PatchState state;
  std::vector<KlpObject> objects;
};

PatchInfo read_patch_info(Fs &fs, const std::string &name);
// Names of the directories in /sys/kernel/livepatch (empty when it does not exist).
std::vector<std::string> list_patches(Fs &fs);
// All function names the patch touches (for spotting them on a blocker's stack).
std::set<std::string> patched_function_names(const PatchInfo &p);

// Task states as the kernel prints them (KLP_UNDEFINED / KLP_UNPATCHED / KLP_PATCHED).
inline constexpr int kUndefined = -1, kUnpatched = 0, kPatched = 1;

struct TaskRef {
  i32 pid = 0, tid = 0;
  int state = kUndefined;
};
struct TaskScan {
  std::vector<TaskRef> tasks; // every thread whose patch_state could be read
  u64 unreadable = 0;         // threads whose patch_state exists but could not be read
  std::string problem;        // first read error (e.g. EACCES without root)
};
TaskScan scan_tasks(Fs &fs);
// Tasks that still have to switch: state is a real state (not -1) and differs from target.
std::vector<TaskRef> pending_tasks(const TaskScan &scan, int target);

struct Blocker {
  TaskRef task;
  std::string comm;
  std::vector<std::string> stack; // lines of /proc/<pid>/task/<tid>/stack
  std::string stack_problem;      // why the stack could not be read
  std::vector<std::string> patched_frames; // stack functions that the patch replaces
};
Blocker describe_task(Fs &fs, const TaskRef &t, const std::set<std::string> &patched_funcs);
// "kpg_stall_sleep+0x1c/0x30 [kpg_stall_target]" -> "kpg_stall_sleep" (also strips "[<0>] ").
std::string stack_frame_function(const std::string &line);

// Modules.
bool module_loaded(Fs &fs, const std::string &name);
std::optional<i64> module_refcnt(Fs &fs, const std::string &name);
bool module_is_livepatch(Fs &fs, const std::string &name);
// Loaded module names from /proc/modules, newest first.
std::vector<std::string> modules_newest_first(Fs &fs);

} // namespace kpg::load
