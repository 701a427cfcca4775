// SPDX-License-Identifier: GPL-2.0-only
//
// `list` and `status`: one snapshot of every livepatch, rendered as text or JSON.
//
// A snapshot joins three sources: the kernel's livepatch sysfs tree (state, objects,
// functions), the module's sysfs (refcnt), and our own records (the target kernel a patch was
// built for, which the kernel does not keep). Patches whose transition is running also list
// the tasks that have not switched yet.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "livepatch.h"
#include "store.h"
#include "sys.h"

namespace kpg::load {

struct PendingTask {
  i32 pid = 0, tid = 0;
  std::string comm;
};

struct PatchStatus {
  PatchInfo info;
  std::string state; // enabled, disabled, patching, unpatching, unknown
  std::optional<i64> refcnt;
  std::optional<LoadedRecord> record;
  std::vector<PendingTask> pending; // only while in transition
  std::string pending_problem;      // why `pending` is unknown (patch_state is root-only)
};

struct Snapshot {
  std::string release;
  std::optional<std::string> build_id;
  std::vector<PatchStatus> patches;             // load order (oldest first)
  std::vector<std::pair<std::string, std::optional<i64>>> inactive; // livepatch modules without a patch dir
  std::string store_dir;
  std::optional<InstallState> installed;
  std::string installed_problem;
};

// `store` may be null (no records, no installed list).
Snapshot take_snapshot(Host &host, Store *store);
nlohmann::ordered_json snapshot_json(const Snapshot &s);
std::string format_list(const Snapshot &s);   // one line per patch
std::string format_status(const Snapshot &s); // everything

} // namespace kpg::load
