// SPDX-License-Identifier: GPL-2.0-only
//
// /etc/kpatch-gen/agent.conf: where the patches come from and which ones this machine takes.
//
//   repository = https://patches.example.com/kpatch   # serves metadata/ and targets/
//   trusted_root = /etc/kpatch-gen/root.json         # the repository's root, pinned at install
//   channel = stable                                 # which levels this machine follows
//   pin = none                                       # or a level: exactly that one, nothing else
//   auto_update = on                                 # off: `run` only reports; `apply` installs
//   min_cvss = 0.0                                   # take a level only for fixes this severe
//   interval = 6h                                    # the systemd timer's period
//
// One `key = value` per line; `#` starts a comment. Unknown keys are errors (a typo such as
// `auto_updates = off` must not silently leave automatic updates on). `pin` and `unpin`
// rewrite only the `pin` line, keeping the rest of the file as the administrator wrote it.
#pragma once
#include <optional>
#include <string>

#include "support/error.h"
#include "support/types.h"

namespace kpg::agent {

inline constexpr const char *kDefaultConfigPath = "/etc/kpatch-gen/agent.conf";
inline constexpr const char *kDefaultStateDir = "/var/lib/kpatch-gen/agent";

struct AgentConfig {
  std::string repository;                              // base URL (required)
  std::string metadata_url, targets_url;               // default: repository + /metadata, /targets
  std::string trusted_root = "/etc/kpatch-gen/root.json";
  std::string channel = "stable";
  std::optional<u32> pin;                              // a patch level
  bool auto_update = true;
  u32 min_cvss10 = 0;                                  // CVSS x 10; 0 = every level
  i64 interval = 6 * 3600;                             // seconds
  i64 transition_timeout = 60;                         // seconds, for the loader
  i64 connect_timeout = 10;                            // seconds
  i64 stall_timeout = 20;                              // seconds without data: give up
  u32 retries = 2;                                     // extra attempts of an unreachable repository
  i64 retry_delay_ms = 2000;                           // before the first retry; doubles
  i64 max_backoff = 6 * 3600;                          // cap of the delay between failed runs
  std::string state_dir = kDefaultStateDir;
};

Expected<AgentConfig> parse_config(const std::string &text, const std::string &path);
// The file with `key` set to `value`: the existing line is replaced (comments kept), or the
// line is appended.
std::string set_config_value(const std::string &text, const std::string &key, const std::string &value);
// A config file for `install`, with every key and what it means.
std::string default_config_text(const AgentConfig &c);

std::string format_duration(i64 seconds); // 21600 -> "6h"
std::string format_cvss(u32 score10);     // 70 -> "7.0"

} // namespace kpg::agent
