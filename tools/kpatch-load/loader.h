// SPDX-License-Identifier: GPL-2.0-only
//
// The load and unload state machines.
//
// load:   read .modinfo -> refuse unless it is a livepatch built for this exact kernel ->
//         finit_module -> wait for the patching transition -> (replace-mode patch: remove the
//         modules of the patches it replaced).
//         On timeout: reverse (write 0 to enabled while in transition), wait for the reversed
//         transition, wait for the module reference to drop, delete_module: the system ends as
//         it began, and the exit code (4) says so.
// unload: write 0 to enabled -> wait for the unpatching transition (the directory disappears)
//         -> wait for refcnt 0 -> delete_module. On timeout: reverse (write 1), so the patch
//         stays fully applied rather than half.
//
// Every step reports through the Reporter; every failure ends in OpResult with a sentence
// naming the module, what failed, and why.
#pragma once
#include <optional>
#include <string>

#include "kernel.h"
#include "report.h"
#include "store.h"
#include "sys.h"
#include "transition.h"

namespace kpg::load {

struct LoadOptions {
  WaitOptions wait;
  i64 refcnt_timeout_ms = 15000; // waiting for the kernel to drop its module reference
  bool keep_replaced = false;    // load: leave the modules of replaced patches loaded
};

// A module file that passed the checks of check_compat() against the running kernel.
struct CheckedModule {
  ModInfo info;
  RunningKernel kernel;
};
// Reads `ko_path`'s .modinfo and checks it against the running kernel, reporting the notes.
// On a refusal or error, records it in `res` (refusals end in "; not <not_done>") and returns
// nothing. load and install both call it, so that install accepts exactly what load would.
std::optional<CheckedModule> check_module(Host &host, Reporter &rep, OpResult &res, const std::string &ko_path,
                                          const char *not_done);

// `store` may be null (then nothing is recorded).
OpResult load_module(Host &host, Reporter &rep, Store *store, const std::string &ko_path, const LoadOptions &opts);
OpResult unload_patch(Host &host, Reporter &rep, Store *store, const std::string &name, const LoadOptions &opts);
// Every loaded livepatch module, newest first.
OpResult unload_all(Host &host, Reporter &rep, Store *store, const LoadOptions &opts);

// Waits until `name`'s refcnt is 0, then delete_module; succeeds if it is already gone.
OpResult remove_module_when_free(Host &host, Reporter &rep, const std::string &name, i64 timeout_ms);

// Names of loaded livepatch modules, newest first: patch directories plus livepatch-tainted
// modules without one (disabled or replaced, still loaded).
std::vector<std::string> loaded_livepatch_modules(Fs &fs);

} // namespace kpg::load
