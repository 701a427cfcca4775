// SPDX-License-Identifier: GPL-2.0-only
#include "agent_config.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "patchrepo/levels.h"
#include "tuf/repository.h"

namespace kpg::agent {

std::string format_duration(i64 s) {
  if (s % 86400 == 0)
    return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0)
    return fmt::format("{}h", s / 3600);
  if (s % 60 == 0)
    return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

std::string format_cvss(u32 s) { return fmt::format("{}.{}", s / 10, s % 10); }

static std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos)
    return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

static std::optional<bool> on_off(const std::string &v) {
  if (v == "on" || v == "yes" || v == "true" || v == "1")
    return true;
  if (v == "off" || v == "no" || v == "false" || v == "0")
    return false;
  return std::nullopt;
}

Expected<AgentConfig> parse_config(const std::string &text, const std::string &path) {
  AgentConfig c;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  std::vector<std::string> problems;
  while (std::getline(in, line)) {
    n++;
    std::string l = trim(line.substr(0, line.find('#')));
    if (l.empty())
      continue;
    auto eq = l.find('=');
    Location where(fmt::format("{}:{}", path, n));
    if (eq == std::string::npos) {
      problems.push_back(fmt::format("{}: expected `key = value`", where.str()));
      continue;
    }
    std::string key = trim(l.substr(0, eq)), v = trim(l.substr(eq + 1));
    auto bad = [&](const std::string &what) { problems.push_back(fmt::format("{}: {}: {}", where.str(), key, what)); };
    auto duration = [&](i64 &out) {
      if (auto d = tuf::parse_duration(v))
        out = *d;
      else if (!v.empty() && std::all_of(v.begin(), v.end(), ::isdigit) && v.size() < 10)
        out = std::stoll(v);
      else
        bad(fmt::format("\"{}\" is not a duration (30s, 15m, 6h, 1d)", v));
    };
    if (key == "repository") {
      c.repository = v;
    } else if (key == "metadata_url") {
      c.metadata_url = v;
    } else if (key == "targets_url") {
      c.targets_url = v;
    } else if (key == "trusted_root") {
      c.trusted_root = v;
    } else if (key == "channel") {
      if (!patchrepo::valid_channel(v))
        bad(fmt::format("\"{}\" is not a channel name (lowercase letters, digits, '.', '_', '-')", v));
      c.channel = v;
    } else if (key == "pin") {
      if (v == "none" || v.empty())
        c.pin.reset();
      else if (std::all_of(v.begin(), v.end(), ::isdigit) && v.size() < 7 && std::stoul(v) > 0)
        c.pin = static_cast<u32>(std::stoul(v));
      else
        bad(fmt::format("\"{}\" is neither a patch level (1, 2, ...) nor none", v));
    } else if (key == "auto_update") {
      if (auto b = on_off(v))
        c.auto_update = *b;
      else
        bad(fmt::format("\"{}\" is neither on nor off", v));
    } else if (key == "min_cvss") {
      if (auto s = patchrepo::parse_score(v))
        c.min_cvss10 = *s;
      else
        bad(fmt::format("\"{}\" is not a CVSS base score 0.0 to 10.0", v));
    } else if (key == "interval") {
      duration(c.interval);
    } else if (key == "transition_timeout") {
      duration(c.transition_timeout);
    } else if (key == "connect_timeout") {
      duration(c.connect_timeout);
    } else if (key == "stall_timeout") {
      duration(c.stall_timeout);
    } else if (key == "max_backoff") {
      duration(c.max_backoff);
    } else if (key == "retries") {
      if (!v.empty() && v.size() < 3 && std::all_of(v.begin(), v.end(), ::isdigit))
        c.retries = static_cast<u32>(std::stoul(v));
      else
        bad("must be a small number");
    } else if (key == "retry_delay") {
      i64 s = 0;
      duration(s);
      c.retry_delay_ms = s * 1000;
    } else if (key == "state_dir") {
      c.state_dir = v;
    } else {
      problems.push_back(fmt::format("{}: unknown key \"{}\"", where.str(), key));
    }
  }
  if (c.repository.empty() && (c.metadata_url.empty() || c.targets_url.empty()))
    problems.push_back(fmt::format("{}: no `repository = URL`", path));
  while (!c.repository.empty() && c.repository.back() == '/')
    c.repository.pop_back();
  if (c.metadata_url.empty())
    c.metadata_url = c.repository + "/metadata";
  if (c.targets_url.empty())
    c.targets_url = c.repository + "/targets";
  if (!problems.empty())
    return make_error(Location(), fmt::format("{}", fmt::join(problems, "\n")));
  return c;
}

std::string set_config_value(const std::string &text, const std::string &key, const std::string &value) {
  std::istringstream in(text);
  std::string line, out;
  bool done = false;
  while (std::getline(in, line)) {
    std::string l = trim(line.substr(0, line.find('#')));
    auto eq = l.find('=');
    if (!done && eq != std::string::npos && trim(l.substr(0, eq)) == key) {
      out += key + " = " + value + "\n";
      done = true;
      continue;
    }
    out += line + "\n";
  }
  if (!done)
    out += key + " = " + value + "\n";
  return out;
}

std::string default_config_text(const AgentConfig &c) {
  return fmt::format(R"(# kpatch-agent configuration (kpatch-agent --help; README "Host your own patch server").
# The repository's metadata/ and targets/ are below this URL (http://, https:// or file://).
repository = {}
# The repository's root metadata, installed out of band: every later root must be signed by it.
trusted_root = {}
# Take levels published in this channel (e.g. dev, test, staging, stable).
channel = {}
# A patch level to stay at exactly (the channel and min_cvss do not apply), or none.
pin = {}
# on: each `kpatch-agent run` (the systemd timer) installs what the policy allows.
# off: `run` and `check` only report; `kpatch-agent apply` installs.
auto_update = {}
# Apply a level only when it fixes at least one CVE with a CVSS v3 base score of at least
# this that the installed level lacks (0 = every level).
min_cvss = {}
# How often the timer polls (kpatch-agent install writes it into the timer unit).
interval = {}
# Give up a patching transition after this long; the loader reverses it.
transition_timeout = {}
)",
                     c.repository, c.trusted_root, c.channel, c.pin ? std::to_string(*c.pin) : "none",
                     c.auto_update ? "on" : "off", format_cvss(c.min_cvss10), format_duration(c.interval),
                     format_duration(c.transition_timeout));
}

} // namespace kpg::agent
