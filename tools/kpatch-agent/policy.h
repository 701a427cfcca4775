// SPDX-License-Identifier: GPL-2.0-only
//
// Which patch level this machine should run, and why (or why not) each published level.
//
// The rules, in the order they are applied to each level of this kernel build:
//
//   pin N          the target is exactly level N, if it is published; nothing else is
//                  considered (the channel, min_cvss and rollbacks do not apply: a pin is an
//                  explicit decision). Going down to N from a higher level is allowed. If N
//                  failed before, only `apply` tries it again.
//   installed      levels at or below the installed one are not candidates (levels are
//                  cumulative: the installed level already has their fixes). The agent never
//                  goes down by itself; `rollback` and `pin` do.
//   channel        the level must be published in the machine's channel.
//   failed         a level whose load failed (transition timed out and was reversed, refused,
//                  ...) is not tried again; a newer level is.
//   rolled back    likewise for a level an administrator rolled back.
//   min_cvss       with min_cvss > 0, a level qualifies only when it fixes at least one CVE
//                  with a CVSS v3 base score >= min_cvss that the installed level does not
//                  fix. Its lower-scored fixes come along (levels are cumulative). A CVE
//                  without a score never qualifies a level on its own.
//
// The newest candidate that passes every rule is chosen. Whether it is then installed
// depends on auto_update (run) or on the administrator (apply); this file only decides.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "patchrepo/levels.h"

namespace kpg::agent {

struct PolicyInput {
  std::vector<patchrepo::Level> levels; // of this kernel build, any order
  std::optional<u32> installed;         // installed level, if any
  std::string channel;
  std::optional<u32> pin;
  u32 min_cvss10 = 0;
  std::map<u32, std::string> failed;
  std::set<u32> rolled_back;
  // A pinned level that failed is retried only when this is set (`apply`, an explicit
  // command), never by the timer's `run`.
  bool retry_failed_pin = false;
};

struct LevelVerdict {
  u32 level = 0;
  bool eligible = false;
  std::string why;                    // "installed", "not in channel stable (in: dev)", ...
  std::vector<std::string> new_fixes; // CVEs it fixes that the installed level does not
};

struct Decision {
  std::optional<u32> chosen;
  std::vector<LevelVerdict> levels; // newest first
  std::string summary;              // one line: what would be done and why
};

Decision decide(const PolicyInput &in);

} // namespace kpg::agent
