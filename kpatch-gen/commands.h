// SPDX-License-Identifier: GPL-2.0-only
// The subcommands of kpatch-gen.
#pragma once
#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

namespace kpg::cli {

struct DiffArgs {
  std::string orig, patched, out, report, objname = "vmlinux", target, symvers;
  std::vector<std::string> entry_sizes; // SECTION=BYTES
  bool quiet = false;
};
CLI::App *add_diff_command(CLI::App &app, DiffArgs &args);
int run_diff_command(const DiffArgs &args);

} // namespace kpg::cli
