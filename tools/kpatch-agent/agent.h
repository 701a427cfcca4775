// SPDX-License-Identifier: GPL-2.0-only
//
// kpatch-agent's operations: poll a TUF patch repository, decide which patch level this
// machine should run, and install it through the loader's library.
//
//   check     refresh the metadata (the full TUF client workflow), list this kernel build's
//             levels and why each would or would not be applied. Changes nothing else.
//   apply     check, then install the level the policy chooses (auto_update does not apply).
//   run       one poll for the systemd timer: after failed polls it backs off; with
//             auto_update on it applies, with it off it only reports. It also loads the
//             installed level if it is not live (kpatch-gen.service normally does at boot).
//   rollback  the loader's rollback (the previous installed level, or none); the level rolled
//             back from is not applied again automatically until a newer one is published.
//   status    what is installed and live, what the last poll saw; no network.
//
// Installing a level: download (TUF: exact length and sha256 of the signed metadata) into
// <state>/downloads, check that the module is the one the metadata names, `install` into the
// loader's stack (kpatch-gen.service loads its top at boot; the loader refuses a module for
// another kernel here), then `load` it: a replace-mode patch replaces the running level in
// one transition. If the load fails, or its transition stalls and the loader reverses it,
// the level is taken off the stack again and recorded as failed: the machine stays at the
// level it had, and that level is not retried until a newer one is published.
//
// Nothing here reads the machine except through the loader's seams (load::Host: files below
// a root, the module syscalls, a clock) and the TUF fetcher, so the tests run all of it
// against a simulated kernel and a repository in a temp dir.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent_config.h"
#include "agent_state.h"
#include "policy.h"
#include "report.h"
#include "sys.h"
#include "tuf/client.h"

namespace kpg::agent {

// Fixed and documented (--help, README); the systemd unit and scripts rely on them.
enum class Exit : int {
  Ok = 0,          // done, or nothing to do (also: backing off)
  Error = 1,       // a local failure: configuration, state, disk, a load that failed
  Usage = 2,       // bad command line or configuration
  Refused = 3,     // the repository's metadata or module failed verification, or the module is
                   // not for this kernel: nothing was installed
  Reverted = 4,    // the transition timed out and was reversed; the level is recorded as failed
  NotReverted = 5, // the transition timed out and could not be reversed: needs attention
  Unreachable = 6, // the repository could not be read (network, HTTP error, stall): the
                   // current patch stays, the next `run` backs off
};

struct Context {
  load::Host &host;
  load::Reporter &rep;
  tuf::Fetcher &fetcher;
  AgentConfig cfg;
  std::string config_path = kDefaultConfigPath; // inside the root, like state_dir
  std::string loader_state_dir = "/var/lib/kpatch-gen";
  i64 now = 0; // wall clock, seconds since the epoch: the TUF expiry reference
};

struct Report {
  std::string release, build_id;
  std::optional<u32> installed; // level at the top of the loader's installed stack
  std::string installed_module;
  bool live = false; // that module's patch is enabled now
  std::vector<patchrepo::Level> levels; // of this kernel build, newest first
  Decision decision;
  std::optional<u32> applied; // what this run installed
  u64 root_version = 0, timestamp_version = 0;
  i64 timestamp_expires = 0;
  tuf::UpdateStats stats;
};

struct Result {
  Exit code = Exit::Ok;
  std::vector<std::string> errors; // one line each
  Report report;
  void fail(Exit c, std::string msg);
};

Result check(Context &ctx);
Result apply(Context &ctx);
Result run(Context &ctx);
Result rollback(Context &ctx);
// pin LEVEL / unpin (nullopt): rewrites the `pin` line of the configuration file.
Result set_pin(Context &ctx, std::optional<u32> level);

// No network: configuration, kernel, installed and live level, the levels of the cached
// (verified when fetched) targets metadata, failed and rolled-back levels, the last poll.
nlohmann::ordered_json status_json(Context &ctx);
std::string format_status(const nlohmann::ordered_json &status);
std::string format_report(const Report &r, const AgentConfig &cfg);
nlohmann::ordered_json report_json(const Report &r);

// `fetch`: refresh, then download and verify one level's module (the policy's choice when
// `level` is nullopt) into `out` (a host path). Installs nothing.
Result fetch_level(Context &ctx, std::optional<u32> level, const std::string &out);

} // namespace kpg::agent
