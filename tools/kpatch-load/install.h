// SPDX-License-Identifier: GPL-2.0-only
//
// Installed patches: what the boot loads, and going back one patch level.
//
// kpatch's utility installs modules into a per-kernel directory and loads *all* of them at
// boot; there is no notion of order and no way back to an earlier patch level. With
// cumulative (atomic replace) patches, each one already contains everything before it, so we
// keep a stack instead: `install` pushes, the newest entry is what `load --installed` (run by
// kpatch-gen.service at boot) loads, and `rollback` pops it, loading the entry below as the
// replacement (the kernel swaps the two atomically: klp_complete_transition unpatches the old
// patch in the same transition) or, at the bottom, unloads every livepatch.
#pragma once
#include <string>

#include "loader.h"
#include "store.h"

namespace kpg::load {

// Copies `ko_path` into the store after the same checks `load` makes. Does not load it.
OpResult install_module(Host &host, Reporter &rep, Store &store, const std::string &ko_path);
// Removes every stack entry of module `name` (the files too). Loaded modules stay loaded.
OpResult uninstall_module(Host &host, Reporter &rep, Store &store, const std::string &name);
// Loads the newest installed patch unless it is already active or the kernel command line
// contains kpatch_gen.disable (unless ignore_cmdline).
OpResult load_installed(Host &host, Reporter &rep, Store &store, const LoadOptions &opts, bool ignore_cmdline);
OpResult rollback(Host &host, Reporter &rep, Store &store, const LoadOptions &opts);

// The kernel command line switch that turns boot-time loading off.
inline constexpr const char *kDisableSwitch = "kpatch_gen.disable";
bool cmdline_disables(const std::string &cmdline);

} // namespace kpg::load
