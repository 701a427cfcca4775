// SPDX-License-Identifier: GPL-2.0-only
//
// kpatch-gen: turn a kernel source patch into a live patch module.
//
// Subcommands live in their own files (diff_cmd.cc, ...); this file only wires them.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"

int main(int argc, char **argv) {
  CLI::App app{"kpatch-gen: make live patches for Linux 6.1 x86-64 from source patches.\n\n"
               "Subcommands:\n"
               "  diff   compare an original and a patched object file and write a livepatch diff object\n\n"
               "Run 'kpatch-gen SUBCOMMAND --help' for details."};
  app.require_subcommand(1);
  app.fallthrough(false);
  kpg::cli::DiffArgs diff_args;
  CLI::App *diff = kpg::cli::add_diff_command(app, diff_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (diff->parsed())
    return kpg::cli::run_diff_command(diff_args);
  return 2;
}
