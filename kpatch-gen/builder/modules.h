// SPDX-License-Identifier: GPL-2.0-only
//
// The target module a unit belongs to, as two files. Distributions ship modules stripped:
// every .ko of Debian's linux-image-* has lost its STT_FILE symbols to `strip --strip-debug`,
// so the locals of nf_tables.ko's dozen units cannot be told apart by unit. The -dbg package
// has the unstripped copy of the same build under /usr/lib/debug/lib/modules/<release>/;
// symbols are resolved there, after checking that both copies list the same symbols in the
// same order (sympos counts in the shipped one, which is what the kernel loads).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "diff/target.h"
#include "support/error.h"

namespace kpg::build {

// A file named `file` (or with '_' and '-' swapped, as module names allow) below one of `dirs`,
// searched recursively.
std::optional<std::string> find_module_file(const std::vector<std::string> &dirs, const std::string &file);

struct ModuleTarget {
  std::string shipped; // the .ko the kernel loads; "" when only a debug copy was found
  std::string symbols; // where symbols are resolved: the unstripped copy when there is one
  std::string note;    // how symbols will be resolved, for the progress output and report
  diff::TargetSymbols table; // the symbol table of `symbols`, read once (the builder's Target keeps it)
};

// `module_file` (nfsd.ko) in `dirs` (shipped modules) and `debug_dirs` (unstripped copies).
// An error when neither has it, or when the two copies are not the same build.
Expected<ModuleTarget> find_target_module(const std::vector<std::string> &dirs, const std::vector<std::string> &debug_dirs,
                                          const std::string &module_file);

} // namespace kpg::build
