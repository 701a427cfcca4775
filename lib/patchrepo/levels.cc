// SPDX-License-Identifier: GPL-2.0-only
#include "patchrepo/levels.h"

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "support/file.h"

namespace kpg::patchrepo {

using nlohmann::json;

std::string Cve::score_text() const { return score10 ? fmt::format("{}.{}", *score10 / 10, *score10 % 10) : ""; }
std::string Cve::severity() const { return score10 ? severity_of(*score10) : ""; }

bool Level::in_channel(const std::string &c) const {
  return std::find(channels.begin(), channels.end(), c) != channels.end();
}

const Cve *Level::find_cve(const std::string &id) const {
  for (const Cve &c : cves)
    if (c.id == id)
      return &c;
  return nullptr;
}

std::string level_target_path(const std::string &release, const std::string &build_id, u32 level,
                              const std::string &module) {
  return fmt::format("{}/{}/{}/{}.ko", release, build_id, level, module);
}

std::string severity_of(u32 s) {
  if (s == 0)
    return "NONE";
  if (s < 40)
    return "LOW";
  if (s < 70)
    return "MEDIUM";
  if (s < 90)
    return "HIGH";
  return "CRITICAL";
}

std::optional<u32> parse_score(const std::string &s) {
  static const std::regex re("^(10|[0-9])(\\.([0-9]))?$");
  std::smatch m;
  if (!std::regex_match(s, m, re))
    return std::nullopt;
  u32 v = static_cast<u32>(std::stoul(m[1].str())) * 10 + (m[3].matched ? static_cast<u32>(m[3].str()[0] - '0') : 0);
  if (v > 100)
    return std::nullopt;
  return v;
}

bool valid_cve_id(const std::string &id) {
  static const std::regex re("^CVE-[0-9]{4}-[0-9]{4,}$");
  return std::regex_match(id, re);
}

bool valid_channel(const std::string &name) {
  static const std::regex re("^[a-z0-9][a-z0-9_.-]{0,63}$");
  return std::regex_match(name, re);
}

Expected<Cve> parse_cve_spec(const std::string &spec) {
  Cve c;
  auto colon = spec.find(':');
  c.id = spec.substr(0, colon);
  if (!valid_cve_id(c.id))
    return make_error(Location(), fmt::format("\"{}\" is not a CVE id (CVE-YYYY-NNNN)", c.id));
  if (colon != std::string::npos) {
    c.score10 = parse_score(spec.substr(colon + 1));
    if (!c.score10)
      return make_error(Location(), fmt::format("\"{}\": the CVSS base score must be 0.0 to 10.0 (one decimal)", spec));
  }
  return c;
}

// A score in a CVE file: a number (7.8) or a string ("7.8").
static std::optional<u32> score_value(const json &v) {
  if (v.is_string())
    return parse_score(v.get<std::string>());
  if (v.is_number()) {
    double d = v.get<double>();
    if (d < 0 || d > 10)
      return std::nullopt;
    return static_cast<u32>(d * 10 + 0.5);
  }
  return std::nullopt;
}

Expected<std::vector<Cve>> read_cve_file(const std::string &path) {
  auto text = read_text_file(path);
  if (!text)
    return std::move(text).take_error();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded())
    return make_error(Location(path), "not valid JSON");
  std::vector<Cve> out;
  auto add = [&](const std::string &id, const json &score) -> Expected<void> {
    if (!valid_cve_id(id))
      return make_error(Location(path), fmt::format("\"{}\" is not a CVE id (CVE-YYYY-NNNN)", id));
    Cve c{id, std::nullopt, 0};
    if (!score.is_null()) {
      c.score10 = score_value(score);
      if (!c.score10)
        return make_error(Location(path), fmt::format("{}: CVSS base score {} is not 0.0 to 10.0", id, score.dump()));
    }
    out.push_back(c);
    return {};
  };
  if (j.is_array()) {
    for (const json &e : j) {
      if (!e.is_object() || !e.contains("id") || !e["id"].is_string())
        return make_error(Location(path), "each entry needs an \"id\" string");
      if (auto r = add(e["id"].get<std::string>(), e.value("cvss", json())); !r)
        return std::move(r).take_error();
    }
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      json score = it.value().is_object() ? it.value().value("cvss", json()) : it.value();
      if (auto r = add(it.key(), score); !r)
        return std::move(r).take_error();
    }
  } else {
    return make_error(Location(path), "expected an array of {\"id\", \"cvss\"} or an object {id: cvss}");
  }
  return out;
}

json level_custom(const Level &l) {
  json cves = json::array();
  for (const Cve &c : l.cves) {
    json e = {{"id", c.id}, {"since", c.since}};
    if (c.score10) {
      e["cvss"] = c.score_text();
      e["severity"] = c.severity();
    }
    cves.push_back(e);
  }
  return {{kCustomKey,
           {{"format", 1},
            {"release", l.release},
            {"build_id", l.build_id},
            {"level", l.level},
            {"module", l.module},
            {"description", l.description},
            {"channels", l.channels},
            {"published", l.published},
            {"cves", cves}}}};
}

std::optional<Level> level_from_custom(const std::string &target_path, const json &custom, u64 length,
                                       const std::string &sha256, std::string &problem) {
  problem.clear();
  if (!custom.is_object() || !custom.contains(kCustomKey))
    return std::nullopt;
  const json &k = custom[kCustomKey];
  auto str = [&](const char *f) -> std::string {
    if (!k.contains(f) || !k[f].is_string()) {
      if (problem.empty())
        problem = fmt::format("{}: custom.{}.{} is missing or not a string", target_path, kCustomKey, f);
      return {};
    }
    return k[f].get<std::string>();
  };
  Level l;
  l.target_path = target_path;
  l.length = length;
  l.sha256 = sha256;
  if (!k.is_object()) {
    problem = fmt::format("{}: custom.{} is not an object", target_path, kCustomKey);
    return std::nullopt;
  }
  l.release = str("release");
  l.build_id = str("build_id");
  l.module = str("module");
  l.published = k.contains("published") ? str("published") : std::string();
  l.description = k.contains("description") ? str("description") : std::string();
  if (!k.contains("level") || !k["level"].is_number_unsigned() || k["level"].get<u64>() == 0 ||
      k["level"].get<u64>() > 1000000)
    problem = problem.empty() ? fmt::format("{}: custom.{}.level must be a positive integer", target_path, kCustomKey)
                              : problem;
  else
    l.level = static_cast<u32>(k["level"].get<u64>());
  if (k.contains("channels") && k["channels"].is_array()) {
    for (const json &c : k["channels"])
      if (c.is_string())
        l.channels.push_back(c.get<std::string>());
  }
  if (k.contains("cves") && k["cves"].is_array()) {
    for (const json &c : k["cves"]) {
      if (!c.is_object() || !c.contains("id") || !c["id"].is_string()) {
        problem = problem.empty() ? fmt::format("{}: a CVE entry has no id", target_path) : problem;
        continue;
      }
      Cve cve{c["id"].get<std::string>(), std::nullopt, 0};
      if (c.contains("cvss")) {
        cve.score10 = c["cvss"].is_string() ? parse_score(c["cvss"].get<std::string>()) : std::nullopt;
        if (!cve.score10 && problem.empty())
          problem = fmt::format("{}: {} has an invalid CVSS score {}", target_path, cve.id, c["cvss"].dump());
      }
      if (c.contains("since") && c["since"].is_number_unsigned())
        cve.since = static_cast<u32>(c["since"].get<u64>());
      l.cves.push_back(cve);
    }
  }
  if (!problem.empty())
    return std::nullopt;
  return l;
}

} // namespace kpg::patchrepo
