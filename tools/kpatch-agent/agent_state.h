// SPDX-License-Identifier: GPL-2.0-only
//
// What the agent remembers between runs, in <state_dir>/state.json (written atomically):
//
//   - per kernel build ("<release>/<build id>"): the module name of each level it applied
//     (the loader's installed stack knows modules, not levels), the levels that failed (with
//     why) and the levels an administrator rolled back. Neither kind is applied again
//     automatically; a newer level is.
//   - the last poll: when, and how it ended;
//   - the back-off after failed polls: consecutive failures and the earliest time the timer's
//     next `run` may try again.
//
// The installed level itself is not stored here: the loader's state directory (the stack of
// installed cumulative patches that kpatch-gen.service loads at boot) is the one truth, and
// `rollback` changes it.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>

#include "support/error.h"
#include "sys.h"

namespace kpg::agent {

struct BuildState {
  std::map<u32, std::string> modules;    // level -> module name, of levels this agent applied
  std::map<u32, std::string> failed;     // level -> why
  std::set<u32> rolled_back;
};

struct AgentState {
  std::map<std::string, BuildState> builds; // "<release>/<build id>"
  std::string last_check;                   // wall time
  std::string last_result;                  // "ok", "unreachable", "rejected", ...
  std::string last_message;
  u32 consecutive_failures = 0;
  i64 next_try = 0; // seconds since the epoch; `run` before this only reports the back-off
};

std::string build_key(const std::string &release, const std::string &build_id);

Expected<AgentState> read_state(load::Fs &fs, const std::string &state_dir);
Expected<void> write_state(load::Fs &fs, const std::string &state_dir, const AgentState &st);

} // namespace kpg::agent
