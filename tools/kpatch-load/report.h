// SPDX-License-Identifier: GPL-2.0-only
//
// Exit codes and the event sink between the loader library and whatever shows its progress.
//
// The library never prints: it tells a Reporter what is happening (a step, the number of tasks
// still to switch, a stall with the tasks that block it) and returns an OpResult. The tool's
// reporter prints; the tests' reporter records, so a test can assert that a stall named the
// right thread without parsing text.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "livepatch.h"
#include "support/types.h"

namespace kpg::load {

// Fixed and documented in --help and docs/loader.md; scripts and the systemd unit rely on them.
enum class ExitCode : int {
  Ok = 0,           // done (also: nothing to do)
  Error = 1,        // an operation failed; the message says what and why
  Usage = 2,        // bad command line
  Refused = 3,      // refused before loading anything (not a livepatch, wrong kernel, busy)
  Reverted = 4,     // transition timed out and was reversed: the system is as it was before
  NotReverted = 5,  // transition timed out and could NOT be fully reversed: needs attention
  Forced = 6,       // completed only because --force-after forced the transition
};

// Which of two results to report when one command did several things (unload --all).
ExitCode worse(ExitCode a, ExitCode b);

struct Progress {
  std::string patch;
  int target = kPatched;
  i64 elapsed_ms = 0;
  std::optional<u64> pending; // nullopt when patch_state cannot be read (not root)
};

struct StallReport {
  std::string patch;
  int target = kPatched;
  i64 elapsed_ms = 0;
  i64 stalled_ms = 0;        // time since the pending count last changed
  u64 pending = 0;           // all pending tasks
  std::vector<Blocker> blockers; // the first few of them, described
};

class Reporter {
public:
  virtual ~Reporter() = default;
  virtual void step(const std::string &msg) = 0;
  virtual void note(const std::string &msg) = 0;
  virtual void warn(const std::string &msg) = 0;
  virtual void progress(const Progress &p) = 0;
  virtual void stalled(const StallReport &r) = 0;
};

// The result of one command. `errors` are complete sentences that name the module or file,
// what failed and why.
struct OpResult {
  ExitCode code = ExitCode::Ok;
  std::vector<std::string> errors;
  i64 transition_ms = -1;            // duration of the main transition, when there was one
  std::vector<std::string> replaced; // patches that this load replaced (atomic replace)

  void fail(ExitCode c, std::string msg) {
    code = worse(code, c);
    errors.push_back(std::move(msg));
  }
  void merge(const OpResult &o) {
    code = worse(code, o.code);
    errors.insert(errors.end(), o.errors.begin(), o.errors.end());
  }
};

const char *target_word(int target); // "patching" / "unpatching"

} // namespace kpg::load
