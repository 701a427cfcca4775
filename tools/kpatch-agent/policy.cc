// SPDX-License-Identifier: GPL-2.0-only
#include "policy.h"

#include <algorithm>

#include <fmt/format.h>

#include "agent_config.h"

namespace kpg::agent {

using patchrepo::Cve;
using patchrepo::Level;

static std::string cve_text(const Cve &c) {
  return c.score10 ? fmt::format("{} ({} {})", c.id, c.score_text(), c.severity()) : fmt::format("{} (no score)", c.id);
}

Decision decide(const PolicyInput &in) {
  Decision d;
  std::vector<const Level *> levels;
  for (const Level &l : in.levels)
    levels.push_back(&l);
  std::sort(levels.begin(), levels.end(), [](const Level *a, const Level *b) { return a->level > b->level; });
  const Level *installed = nullptr;
  if (in.installed)
    for (const Level *l : levels)
      if (l->level == *in.installed)
        installed = l;

  auto fixes_new = [&](const Level &l) {
    std::vector<const Cve *> out;
    for (const Cve &c : l.cves)
      if (!installed || !installed->find_cve(c.id))
        out.push_back(&c);
    return out;
  };

  for (const Level *l : levels) {
    LevelVerdict v;
    v.level = l->level;
    std::vector<const Cve *> fresh = fixes_new(*l);
    for (const Cve *c : fresh)
      v.new_fixes.push_back(cve_text(*c));
    if (in.pin) {
      if (l->level == *in.pin) {
        auto f = in.failed.find(l->level);
        if (in.installed && *in.installed == l->level) {
          v.why = "installed (pinned level)";
        } else if (f != in.failed.end() && !in.retry_failed_pin) {
          v.why = fmt::format("pinned level; failed before ({}); `kpatch-agent apply` tries again", f->second);
        } else {
          v.eligible = true;
          v.why = "pinned level";
        }
      } else {
        v.why = fmt::format("pinned to level {}", *in.pin);
      }
    } else if (in.installed && l->level == *in.installed) {
      v.why = "installed";
    } else if (in.installed && l->level < *in.installed) {
      v.why = fmt::format("older than the installed level {}", *in.installed);
    } else if (!l->in_channel(in.channel)) {
      v.why = l->channels.empty() ? fmt::format("not in channel {} (in no channel)", in.channel)
                                  : fmt::format("not in channel {} (in: {})", in.channel, fmt::join(l->channels, ", "));
    } else if (auto f = in.failed.find(l->level); f != in.failed.end()) {
      v.why = fmt::format("failed before ({}); waiting for a newer level", f->second);
    } else if (in.rolled_back.count(l->level)) {
      v.why = "rolled back by an administrator; waiting for a newer level";
    } else if (in.min_cvss10 > 0) {
      std::vector<std::string> severe;
      for (const Cve *c : fresh)
        if (c->score10 && *c->score10 >= in.min_cvss10)
          severe.push_back(cve_text(*c));
      if (severe.empty()) {
        v.why = fmt::format("no fix with CVSS >= {} that {}", format_cvss(in.min_cvss10),
                            installed ? fmt::format("level {} lacks", installed->level) : "is new here");
      } else {
        v.eligible = true;
        v.why = fmt::format("fixes {} (CVSS >= {})", fmt::join(severe, ", "), format_cvss(in.min_cvss10));
      }
    } else {
      v.eligible = true;
      v.why = fresh.empty() ? "newer level" : fmt::format("newer level, fixes {}", fmt::join(v.new_fixes, ", "));
    }
    if (v.eligible && !d.chosen)
      d.chosen = l->level;
    d.levels.push_back(std::move(v));
  }

  const std::string at = in.installed ? fmt::format("level {}", *in.installed) : std::string("no level");
  if (d.chosen) {
    d.summary = fmt::format("level {} should be applied (installed: {})", *d.chosen, at);
  } else if (in.pin) {
    auto pinned = std::find_if(d.levels.begin(), d.levels.end(), [&](const LevelVerdict &v) { return v.level == *in.pin; });
    d.summary = pinned == d.levels.end()
                    ? fmt::format("pinned to level {}, which is not published for this kernel; staying at {}", *in.pin, at)
                    : fmt::format("pinned to level {}: {}", *in.pin, pinned->why);
  } else if (levels.empty()) {
    d.summary = fmt::format("no patch level is published for this kernel; staying at {}", at);
  } else {
    d.summary = fmt::format("up to date at {}: no newer level in channel {} that the policy allows", at, in.channel);
  }
  return d;
}

} // namespace kpg::agent
