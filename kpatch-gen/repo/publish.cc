// SPDX-License-Identifier: GPL-2.0-only
#include "repo/publish.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "support/file.h"
#include "tuf/metadata.h"

namespace kpg::repo {

using nlohmann::json;
using patchrepo::Cve;
using patchrepo::Level;

Expected<ModuleReport> read_module_report(const std::string &path) {
  auto text = read_text_file(path);
  if (!text)
    return make_error(Location(path), text.error().message + " (the .json report `kpatch-gen build` writes beside "
                                                             "the module; --report names another)");
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(Location(path), "not valid JSON");
  if (j.value("format", "") != "kpatch-gen-module/1")
    return make_error(Location(path), "not a kpatch-gen module report (format kpatch-gen-module/1)");
  ModuleReport r;
  auto str = [&](const json &o, const char *k) {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  r.name = str(j, "name");
  r.description = str(j, "description");
  r.sha256 = str(j, "sha256");
  r.replace = j.value("replace", false);
  if (auto t = j.find("target"); t != j.end() && t->is_object()) {
    r.release = str(*t, "release");
    r.build_id = str(*t, "build_id");
  }
  // cves: ids; cvss (since scores were added): {"CVE-...": {"score": "7.8", ...}}.
  const json cvss = j.value("cvss", json::object());
  for (const json &c : j.value("cves", json::array())) {
    if (!c.is_string())
      continue;
    auto cve = patchrepo::parse_cve_spec(c.get<std::string>());
    if (!cve)
      return make_error(Location(path), cve.error().message);
    if (auto s = cvss.find(cve->id); s != cvss.end() && s->is_object() && s->contains("score") && (*s)["score"].is_string())
      cve->score10 = patchrepo::parse_score((*s)["score"].get<std::string>());
    r.cves.push_back(*cve);
  }
  if (r.name.empty() || r.release.empty() || r.build_id.empty() || r.sha256.empty())
    return make_error(Location(path), "the report lacks the module name, target release, build ID or sha256");
  return r;
}

std::vector<Level> levels_of(const tuf::Repository &r, std::vector<std::string> *problems) {
  std::vector<Level> out;
  for (const auto &[path, t] : r.targets().targets) {
    std::string problem;
    auto sha = t.hashes.find("sha256");
    auto l = patchrepo::level_from_custom(path, t.custom, t.length, sha == t.hashes.end() ? "" : sha->second, problem);
    if (l)
      out.push_back(std::move(*l));
    else if (!problem.empty() && problems)
      problems->push_back(problem);
  }
  std::sort(out.begin(), out.end(), [](const Level &a, const Level &b) {
    return std::tie(a.release, a.build_id, a.level) < std::tie(b.release, b.build_id, b.level);
  });
  return out;
}

Expected<Level> add_level(tuf::Repository &r, const std::string &ko_path, const ModuleReport &report,
                          const AddOptions &opts, i64 now) {
  auto data = read_file(ko_path);
  if (!data)
    return std::move(data).take_error();
  Location where(ko_path);
  const std::string sha = tuf::sha256_hex(*data);
  if (sha != report.sha256)
    return make_error(where, fmt::format("sha256 {} is not the {} its report records: the report belongs to another "
                                         "build of the module",
                                         sha, report.sha256));
  // Levels are cumulative and replace each other atomically: a module that stacks on top of
  // others (--no-replace) cannot be a level.
  if (!report.replace)
    return make_error(where, "not a replace-mode (cumulative) patch: build it without --no-replace to publish it as a "
                             "patch level");
  std::vector<Level> same_build;
  for (Level &l : levels_of(r))
    if (l.release == report.release && l.build_id == report.build_id)
      same_build.push_back(std::move(l));
  u32 next = 1;
  for (const Level &l : same_build) {
    next = std::max(next, l.level + 1);
    if (l.sha256 == sha)
      return make_error(where, fmt::format("already published as level {} of {}", l.level, report.release));
    // The kernel cannot hold two modules of one name: going from one level to the next is
    // loading the new module while the old is live.
    if (l.module == report.name)
      return make_error(where, fmt::format("level {} of this kernel build is already module {}; each level needs its "
                                           "own module name (kpatch-gen build --name {}_{})",
                                           l.level, report.name, report.name, next));
  }
  Level lvl;
  lvl.release = report.release;
  lvl.build_id = report.build_id;
  lvl.level = next;
  lvl.module = report.name;
  lvl.description = report.description;
  lvl.channels = opts.channels.empty() ? std::vector<std::string>{patchrepo::kDefaultChannel} : opts.channels;
  for (const std::string &c : lvl.channels)
    if (!patchrepo::valid_channel(c))
      return make_error(where, fmt::format("\"{}\" is not a channel name (lowercase letters, digits, '.', '_', '-')", c));
  lvl.published = tuf::format_time(now);
  lvl.target_path = patchrepo::level_target_path(lvl.release, lvl.build_id, lvl.level, lvl.module);
  // Cumulative CVEs: what the lower levels fixed, then this module's own; a score given now
  // (the report's or --cve's) wins over none.
  std::map<std::string, Cve> cves;
  std::vector<std::string> order;
  auto merge = [&](const Cve &c, u32 since) {
    auto it = cves.find(c.id);
    if (it == cves.end()) {
      Cve n = c;
      n.since = c.since ? c.since : since;
      cves[c.id] = n;
      order.push_back(c.id);
    } else if (c.score10) {
      it->second.score10 = c.score10;
    }
  };
  std::sort(same_build.begin(), same_build.end(), [](const Level &a, const Level &b) { return a.level < b.level; });
  for (const Level &l : same_build)
    for (const Cve &c : l.cves)
      merge(c, l.level);
  for (const Cve &c : report.cves)
    merge(Cve{c.id, c.score10, 0}, next);
  for (const Cve &c : opts.cves)
    merge(Cve{c.id, c.score10, 0}, next);
  for (const std::string &id : order)
    lvl.cves.push_back(cves[id]);
  auto t = r.add_target(lvl.target_path, *data, patchrepo::level_custom(lvl));
  if (!t)
    return std::move(t).take_error();
  lvl.length = t->length;
  lvl.sha256 = sha;
  if (auto p = r.publish(now); !p)
    return std::move(p).take_error();
  return lvl;
}

Expected<Level> set_channel(tuf::Repository &r, u32 level, const std::string &kernel, const std::string &channel,
                            bool on, i64 now) {
  if (!patchrepo::valid_channel(channel))
    return make_error(Location(r.dir()),
                      fmt::format("\"{}\" is not a channel name (lowercase letters, digits, '.', '_', '-')", channel));
  std::vector<Level> match;
  for (Level &l : levels_of(r))
    if (l.level == level && (kernel.empty() || l.release == kernel || l.build_id.starts_with(kernel)))
      match.push_back(std::move(l));
  if (match.empty())
    return make_error(Location(r.dir()), fmt::format("no level {}{}", level, kernel.empty() ? "" : " for " + kernel));
  if (match.size() > 1) {
    std::vector<std::string> names;
    for (const Level &l : match)
      names.push_back(fmt::format("{} (build ID {})", l.release, l.build_id));
    return make_error(Location(r.dir()), fmt::format("level {} exists for {} kernel builds: {}; say which with --kernel "
                                                     "RELEASE or BUILD_ID",
                                                     level, match.size(), fmt::join(names, ", ")));
  }
  Level l = match.front();
  auto it = std::find(l.channels.begin(), l.channels.end(), channel);
  if (on && it != l.channels.end())
    return make_error(Location(l.target_path), fmt::format("already in channel {}", channel));
  if (!on && it == l.channels.end())
    return make_error(Location(l.target_path), fmt::format("not in channel {}", channel));
  if (on)
    l.channels.push_back(channel);
  else
    l.channels.erase(it);
  if (auto s = r.set_custom(l.target_path, patchrepo::level_custom(l)); !s)
    return std::move(s).take_error();
  if (auto p = r.publish(now); !p)
    return std::move(p).take_error();
  return l;
}

} // namespace kpg::repo
