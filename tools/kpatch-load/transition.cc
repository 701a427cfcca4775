// SPDX-License-Identifier: GPL-2.0-only
#include "transition.h"

#include <algorithm>

#include <fmt/format.h>

namespace kpg::load {

ExitCode worse(ExitCode a, ExitCode b) {
  // NotReverted leaves the system in an unknown mix and must win; a revert is worse news than
  // a plain error because a patch the operator asked for is not applied; Forced is a success
  // with a permanent cost, ranked above Ok only.
  auto rank = [](ExitCode c) {
    switch (c) {
    case ExitCode::Ok: return 0;
    case ExitCode::Forced: return 1;
    case ExitCode::Refused: return 2;
    case ExitCode::Error: return 3;
    case ExitCode::Usage: return 3;
    case ExitCode::Reverted: return 4;
    case ExitCode::NotReverted: return 5;
    }
    return 5;
  };
  return rank(b) > rank(a) ? b : a;
}

const char *target_word(int target) { return target == kPatched ? "patching" : "unpatching"; }

std::vector<Blocker> describe_blockers(Host &host, const std::string &patch, int target, u32 max, u64 *total) {
  TaskScan scan = scan_tasks(host.fs);
  std::vector<TaskRef> pending = pending_tasks(scan, target);
  if (total)
    *total = pending.size();
  std::set<std::string> funcs = patched_function_names(read_patch_info(host.fs, patch));
  std::vector<Blocker> out;
  for (const TaskRef &t : pending) {
    if (out.size() >= max)
      break;
    out.push_back(describe_task(host.fs, t, funcs));
  }
  return out;
}

std::string format_blockers(const std::vector<Blocker> &blockers, u64 total) {
  std::string s;
  for (const Blocker &b : blockers) {
    s += fmt::format("  pid {} tid {} ({})", b.task.pid, b.task.tid, b.comm);
    if (!b.patched_frames.empty())
      s += fmt::format(": sleeping in patched function {}", fmt::join(b.patched_frames, ", "));
    s += "\n";
    if (!b.stack_problem.empty())
      s += fmt::format("    (kernel stack unavailable: {})\n", b.stack_problem);
    for (const std::string &line : b.stack)
      s += fmt::format("    {}\n", line);
  }
  if (total > blockers.size())
    s += fmt::format("  ... and {} more\n", total - blockers.size());
  if (blockers.empty())
    s += "  no task in /proc is pending (idle tasks, or the kernel has not re-checked yet)\n";
  return s;
}

static bool same_tasks(const std::vector<TaskRef> &a, const std::vector<TaskRef> &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); i++)
    if (a[i].tid != b[i].tid)
      return false;
  return true;
}

WaitResult wait_for_transition(Host &host, Reporter &rep, const std::string &patch, int target,
                               const WaitOptions &opts) {
  WaitResult res;
  const i64 start = host.clock.now_ms();
  i64 interval = std::max<i64>(1, opts.poll_first_ms);
  i64 last_change = start;
  std::optional<u64> last_pending;
  std::vector<TaskRef> stall_reported; // the pending set we last described (to not repeat it)
  bool stall_reported_once = false;
  u32 bad_reads = 0;
  const bool want_enabled = target == kPatched;

  for (;;) {
    PatchState st = read_patch_state(host.fs, patch);
    const i64 now = host.clock.now_ms();
    res.elapsed_ms = now - start;

    if (!st.present) {
      if (target == kUnpatched) {
        // klp_free_patch_start() removes the directory after the unpatching transition
        // completed: this is the end state of a disable.
        res.end = WaitEnd::Done;
        return res;
      }
      res.end = WaitEnd::Vanished;
      res.problem = fmt::format("{}/{} disappeared while {}: the patch was disabled or replaced by someone else",
                                kLivepatchDir, patch, target_word(target));
      return res;
    }

    if (!st.problem.empty()) {
      // A half-removed directory can answer ENOENT for one read; garbage that persists is
      // not a kernel we understand, and then we must not act on a guess.
      if (++bad_reads > opts.bad_reads_tolerated) {
        res.end = WaitEnd::Unreadable;
        res.problem = st.problem;
        return res;
      }
    } else {
      bad_reads = 0;
      const bool enabled = *st.enabled, transition = *st.transition;
      if (!transition) {
        if (enabled == want_enabled && target == kPatched) {
          res.end = WaitEnd::Done;
          return res;
        }
        if (enabled != want_enabled) {
          // Not in transition and pointing the other way: a concurrent writer reversed it
          // and that reverse already completed.
          res.end = WaitEnd::Reversed;
          res.problem = fmt::format("{}/{}/enabled is {} and no transition is running: someone reversed it",
                                    kLivepatchDir, patch, enabled ? 1 : 0);
          return res;
        }
        // target == kUnpatched, enabled == 0, transition == 0: unpatching completed and the
        // kernel frees the patch (and its directory) from a work item; keep waiting.
      } else {
        if (enabled != want_enabled) {
          res.end = WaitEnd::Reversed;
          res.problem = fmt::format("{}/{}/enabled flipped to {} during the transition: someone reversed it",
                                    kLivepatchDir, patch, enabled ? 1 : 0);
          return res;
        }
        TaskScan scan = scan_tasks(host.fs);
        std::optional<u64> pending;
        std::vector<TaskRef> pend;
        if (scan.problem.empty() || !scan.tasks.empty()) {
          pend = pending_tasks(scan, target);
          pending = pend.size();
        }
        res.pending_at_end = pending.value_or(0);
        if (pending != last_pending) {
          last_pending = pending;
          last_change = now;
          rep.progress({patch, target, res.elapsed_ms, pending});
        }
        if (now - last_change >= opts.stall_after_ms && (!stall_reported_once || !same_tasks(pend, stall_reported))) {
          StallReport sr;
          sr.patch = patch;
          sr.target = target;
          sr.elapsed_ms = res.elapsed_ms;
          sr.stalled_ms = now - last_change;
          sr.blockers = describe_blockers(host, patch, target, opts.max_blockers, &sr.pending);
          rep.stalled(sr);
          stall_reported = pend;
          stall_reported_once = true;
        }
        if (opts.force_after_ms && !res.forced && res.elapsed_ms >= *opts.force_after_ms) {
          rep.warn(fmt::format("{}: forcing the {} transition after {:.1f} s (--force-after): tasks switch without "
                               "the stack check, which is only safe if none of them runs the code being replaced",
                               patch, target_word(target), static_cast<double>(res.elapsed_ms) / 1000.0));
          int err = host.fs.write_attr(kLivepatchDir + "/" + patch + "/force", "1");
          res.forced = true;
          if (err == EINVAL) {
            // force_store(): -EINVAL unless this patch is the transition patch, i.e. the
            // transition completed between our read and the write. Nothing was forced.
            res.forced = false;
          } else if (err != 0) {
            rep.warn(fmt::format("{}: writing {}/{}/force failed: {}", patch, kLivepatchDir, patch, errno_text(err)));
            res.forced = false;
          }
        }
      }
    }

    if (res.elapsed_ms >= opts.timeout_ms) {
      res.end = WaitEnd::TimedOut;
      if (bad_reads > 0) {
        res.end = WaitEnd::Unreadable;
        res.problem = st.problem;
        return res;
      }
      res.blockers = describe_blockers(host, patch, target, opts.max_blockers, &res.pending_at_end);
      return res;
    }
    i64 left = opts.timeout_ms - res.elapsed_ms;
    host.clock.sleep_ms(std::min(interval, left));
    interval = std::min<i64>(opts.poll_max_ms, interval + interval / 2 + 1);
  }
}

} // namespace kpg::load
