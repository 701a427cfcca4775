// SPDX-License-Identifier: GPL-2.0-only
//
// What a patch repository says about each live patch module, on top of TUF.
//
// Each kernel build (release + GNU build ID) has monotonic *patch levels* 1, 2, 3...: each
// level is one cumulative, atomic-replace module, so a machine only ever needs the newest
// level it is allowed to take, and going from any level to any other is one transition.
// A level is one TUF target:
//
//   <release>/<build-id>/<level>/<module>.ko      e.g. 6.1.0-18-amd64/9abe.../2/livepatch_fix_2.ko
//
// and its TUF `custom` metadata carries, under "kpatch-gen":
//
//   {"format": 1, "release": "6.1.0-18-amd64", "build_id": "9abe...", "level": 2,
//    "module": "livepatch_fix_2", "description": "...", "channels": ["test", "stable"],
//    "published": "2026-01-01T00:00:00Z",
//    "cves": [{"id": "CVE-2024-1086", "cvss": "7.8", "severity": "HIGH", "since": 1}, ...]}
//
// `cves` is cumulative: every fix in this level, each with the level it first appeared in
// (the repository computes it when a level is added). CVSS v3 base scores are decimal
// strings: canonical JSON, which TUF signs, has no floating-point numbers.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/error.h"
#include "support/types.h"

namespace kpg::patchrepo {

inline constexpr const char *kCustomKey = "kpatch-gen";
inline constexpr const char *kDefaultChannel = "stable";

struct Cve {
  std::string id;
  std::optional<u32> score10; // CVSS v3 base score x 10 (7.8 -> 78); nullopt when unknown
  u32 since = 0;              // level that first fixed it (0: not known yet)
  std::string score_text() const; // "7.8", or "" when unknown
  std::string severity() const;   // NONE LOW MEDIUM HIGH CRITICAL, or "" when unknown
};

struct Level {
  std::string target_path;
  std::string release, build_id, module;
  u32 level = 0;
  std::vector<Cve> cves; // cumulative
  std::string description;
  std::vector<std::string> channels;
  std::string published;
  // From the TUF entry, not the custom metadata.
  u64 length = 0;
  std::string sha256;

  bool in_channel(const std::string &c) const;
  const Cve *find_cve(const std::string &id) const;
};

// "<release>/<build_id>/<level>/<module>.ko"
std::string level_target_path(const std::string &release, const std::string &build_id, u32 level,
                              const std::string &module);

nlohmann::json level_custom(const Level &l);
// Reads the level a TUF target describes. nullopt with an empty `problem`: not a kpatch-gen
// target (no custom "kpatch-gen" object); nullopt with a problem: ours, but malformed.
std::optional<Level> level_from_custom(const std::string &target_path, const nlohmann::json &custom, u64 length,
                                       const std::string &sha256, std::string &problem);

// CVSS v3 qualitative rating of a base score (FIRST's CVSS v3.1 specification, table 14).
std::string severity_of(u32 score10);
// "7.8" -> 78. Accepts 0.0..10.0 with at most one decimal.
std::optional<u32> parse_score(const std::string &s);
// "CVE-2024-1086" or "CVE-2024-1086:7.8".
Expected<Cve> parse_cve_spec(const std::string &spec);
// A CVE metadata file: a JSON array of {"id": "CVE-...", "cvss": 7.8 or "7.8"}, or an object
// {"CVE-...": 7.8 or "7.8" or {"cvss": ...}}.
Expected<std::vector<Cve>> read_cve_file(const std::string &path);
bool valid_cve_id(const std::string &id);
bool valid_channel(const std::string &name); // [a-z0-9][a-z0-9_.-]*, at most 64 characters

} // namespace kpg::patchrepo
