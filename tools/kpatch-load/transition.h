// SPDX-License-Identifier: GPL-2.0-only
//
// Waiting for a livepatch transition, the way an operator would want to watch it.
//
// The 6.1 kernel switches tasks to the target state one by one (kernel/livepatch/transition.c):
// at the start, then from a delayed work that re-checks every task's stack about once a
// second, plus whenever a task returns to user space or an idle CPU goes through do_idle().
// After ~15 s (and every ~15 s after that) it "signals" the remaining tasks: kthreads are
// woken, user tasks are kicked through the exit-to-user path. A task sleeping *inside* a
// function the transition is about (the old code when patching, the patch's new code when
// unpatching) cannot be switched until it leaves that function.
//
// So the waiter:
//  - polls fast first (20 ms: most transitions on an idle machine finish within the first
//    kernel attempt) and backs off by 1.5x to 500 ms: polling faster than the kernel's own 1 s
//    retry only burns CPU;
//  - counts pending tasks (/proc/*/task/*/patch_state != target, ignoring -1) for progress;
//  - calls it a stall when that count has not changed for `stall_after_ms` (default 3 s: at
//    least two kernel retries without a single task switching) and names the blocking tasks
//    with their kernel stacks, marking frames that are functions of this patch;
//  - writes `force` only when asked (force_after_ms) — see loader.cc for what that costs;
//  - gives up at `timeout_ms` and hands the decision (reverse) back to the caller.
// Target states: kPatched (enable/load) or kUnpatched (disable/unload or a reversed load).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "report.h"
#include "sys.h"

namespace kpg::load {

struct WaitOptions {
  i64 timeout_ms = 60000;
  std::optional<i64> force_after_ms; // write 1 to force after this long (only when asked)
  i64 stall_after_ms = 3000;
  i64 poll_first_ms = 20;
  i64 poll_max_ms = 500;
  u32 max_blockers = 16;        // how many blocking tasks to describe
  u32 bad_reads_tolerated = 5;  // consecutive unreadable/garbage enabled/transition reads
};

enum class WaitEnd {
  Done,       // reached the target state (for kUnpatched: the patch directory is gone)
  TimedOut,   // still in transition at timeout_ms
  Vanished,   // patch directory disappeared while patching (disabled/replaced by someone else)
  Reversed,   // somebody else reversed or re-enabled it: the kernel now heads the other way
  Unreadable, // enabled/transition stayed unreadable or garbage; state unknown
};

struct WaitResult {
  WaitEnd end = WaitEnd::Done;
  i64 elapsed_ms = 0;
  bool forced = false;
  std::string problem;           // for Unreadable/Reversed/Vanished: what was seen
  std::vector<Blocker> blockers; // for TimedOut: the tasks still pending, described
  u64 pending_at_end = 0;
};

WaitResult wait_for_transition(Host &host, Reporter &rep, const std::string &patch, int target,
                               const WaitOptions &opts);

// Describes up to `max` pending tasks of `patch`'s transition towards `target`.
std::vector<Blocker> describe_blockers(Host &host, const std::string &patch, int target, u32 max, u64 *total = nullptr);

// One line per blocker plus its stack, indented; for messages and the tool's output.
std::string format_blockers(const std::vector<Blocker> &blockers, u64 total);

} // namespace kpg::load
