// SPDX-License-Identifier: GPL-2.0-only
//
// kpatch-gen: turn a kernel source patch into a live patch module.
//
// Subcommands live in their own files (diff_cmd.cc, ...); this file only wires them.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"

using kpg::cli::ExitCode;
using kpg::cli::exit_status;

int main(int argc, char **argv) {
  CLI::App app{"kpatch-gen: make live patches for Linux 6.1 and 6.12 on x86-64 from source patches.\n\n"
               "Subcommands:\n"
               "  build    build a verified live patch module from source patches\n"
               "  diff     compare an original and a patched object file and write a livepatch diff object\n"
               "  inspect  show what a live patch module patches and for which kernel\n"
               "  repo     publish modules as patch levels in a signed (TUF) repository\n"
               "  sign     append a kernel module signature (as the kernel's scripts/sign-file does)\n\n"
               "Run 'kpatch-gen SUBCOMMAND --help' for details."};
  app.require_subcommand(1);
  app.fallthrough(false);
  kpg::cli::DiffArgs diff_args;
  kpg::cli::BuildArgs build_args;
  kpg::cli::InspectArgs inspect_args;
  kpg::cli::RepoArgs repo_args;
  kpg::cli::SignArgs sign_args;
  CLI::App *build = kpg::cli::add_build_command(app, build_args);
  CLI::App *diff = kpg::cli::add_diff_command(app, diff_args);
  CLI::App *inspect = kpg::cli::add_inspect_command(app, inspect_args);
  CLI::App *repo = kpg::cli::add_repo_command(app, repo_args);
  CLI::App *sign = kpg::cli::add_sign_command(app, sign_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int rc = app.exit(e);
    return exit_status(rc == 0 ? ExitCode::Ok : ExitCode::Usage);
  }
  if (build->parsed())
    return exit_status(kpg::cli::run_build_command(build_args));
  if (diff->parsed())
    return exit_status(kpg::cli::run_diff_command(diff_args));
  if (inspect->parsed())
    return exit_status(kpg::cli::run_inspect_command(inspect_args));
  if (repo->parsed())
    return exit_status(kpg::cli::run_repo_command(repo_args));
  if (sign->parsed())
    return exit_status(kpg::cli::run_sign_command(sign_args));
  return exit_status(ExitCode::Usage);
}
