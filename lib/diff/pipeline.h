// SPDX-License-Identifier: GPL-2.0-only
//
// `kpatch-gen diff` as a library call: the pipeline of passes (pipeline.cc) and its result.
#pragma once
#include <nlohmann/json.hpp>

#include "diff/context.h"

namespace kpg::diff {

// Exit codes of `kpatch-gen diff` (and of run_diff()).
enum ExitCode : int {
  EXIT_CHANGED = 0,   // changes found; output written
  EXIT_ERROR = 1,     // refused or error
  EXIT_USAGE = 2,     // bad command line
  EXIT_NO_CHANGE = 3, // no functional change; no output written
};

struct DiffResult {
  int exit_code = EXIT_ERROR;
  nlohmann::json report;
  OutputInfo output; // what the module generator needs (when exit_code == EXIT_CHANGED)
  std::vector<Callback> callbacks;
  std::vector<std::string> callback_names; // function names, parallel to callbacks
};

// Runs every pass; writes Options::out_path (atomically) on success and the JSON report when
// Options::report_path is set (also on refusal, so CI can show why).
DiffResult run_diff(const Options &opt, Diag &diag);

// The JSON report of a finished (or stopped) context.
nlohmann::json make_report(const DiffContext &ctx, const char *result);

} // namespace kpg::diff
