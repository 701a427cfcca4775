// SPDX-License-Identifier: GPL-2.0-only
//
// Patch levels in a TUF repository: what `kpatch-gen repo add/promote/demote/list` do on top
// of lib/tuf's Repository (which knows nothing of livepatch).
//
// add: the module's build report (NAME.json, written by `kpatch-gen build`) says which
// kernel build the module is for, whether it is a replace-mode (cumulative) patch, its CVEs
// with their CVSS scores, and its sha256, which must be the module file's. The level is the
// next one of that kernel build. Its CVE list is made cumulative here: a level fixes what
// every lower level of the build fixed plus its own (each CVE keeps the level that first
// fixed it), which is what lets an agent compare any two levels.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "patchrepo/levels.h"
#include "support/error.h"
#include "tuf/repository.h"

namespace kpg::repo {

struct ModuleReport {
  std::string name, release, build_id, description, sha256;
  bool replace = false;
  std::vector<patchrepo::Cve> cves;
};
// Reads NAME.json (format kpatch-gen-module/1 as `kpatch-gen build` writes it).
Expected<ModuleReport> read_module_report(const std::string &path);

struct AddOptions {
  std::vector<std::string> channels;     // default: stable
  std::vector<patchrepo::Cve> cves;      // add to / give scores to the report's CVEs
};

// Every level in the repository's targets metadata; malformed entries are named in `problems`.
std::vector<patchrepo::Level> levels_of(const tuf::Repository &r, std::vector<std::string> *problems = nullptr);

// Adds `ko_path` as the next level of its kernel build and publishes.
Expected<patchrepo::Level> add_level(tuf::Repository &r, const std::string &ko_path, const ModuleReport &report,
                                     const AddOptions &opts, i64 now);

// Adds (`on`) or removes a channel of level `level`. `kernel` selects the build when several
// have that level: a release, or a build ID (or a prefix of one); empty matches all.
// Publishes. Returns the level as changed.
Expected<patchrepo::Level> set_channel(tuf::Repository &r, u32 level, const std::string &kernel,
                                       const std::string &channel, bool on, i64 now);

} // namespace kpg::repo
