// SPDX-License-Identifier: GPL-2.0-only
// The subcommands of kpatch-gen.
#pragma once
#include <CLI/CLI.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "builder/build.h"
#include "builder/sign.h"
#include "support/error.h"

namespace kpg::cli {

// The exit status of every kpatch-gen subcommand, documented in each --help and the README;
// scripts branch on it (3 is "nothing to do", not a failure). One enum for every subcommand;
// kpatch-load has its own, for its own states.
enum class ExitCode : int {
  Ok = 0,       // done: diff written (diff), module written (build), module shown (inspect)
  Failed = 1,   // refused (each reason printed with its code) or error
  Usage = 2,    // bad command line
  NoChange = 3, // no functional change, or (build) no changed file is built in this kernel: nothing written
  CompileError = 4, // build: the patched source does not compile (the compiler's first error is shown)
  // repo verify: metadata or a target failed verification. 3 as well: `repo` never has "no
  // change", and a script reads the code of the subcommand it ran.
  RepoInvalid = 3,
};
inline int exit_status(ExitCode c) { return static_cast<int>(c); }

struct DiffArgs {
  std::string orig, patched, out, report, objname = "vmlinux", target, symvers;
  std::string orig_crcs, patched_crcs;  // files with kbuild's `#SYMVER name 0xCRC` lines
  std::string kernel_line;              // "6.1", "6.12" or "" (from the target or the objects)
  bool objtool_at_link = false;         // --objtool-at-link (diff::Options::objtool_at_link)
  std::vector<std::string> entry_sizes; // SECTION=BYTES
  bool quiet = false;
  bool check_original = false; // ORIG against --target first (builder/verify.h), as `build` does
};
CLI::App *add_diff_command(CLI::App &app, DiffArgs &args);
ExitCode run_diff_command(const DiffArgs &args);

struct BuildArgs {
  std::vector<std::string> patches, cves;
  std::string kernel_src, vmlinux, config, modules_dir, symvers, kernel_build, name, description, outdir, cache;
  std::string debian_release, cve_file, debug_modules_dir;
  std::string sign_key, sign_cert; // sign the module as the last step (sign_cmd.cc, builder/sign.h)
  CLI::Option *debian_opt = nullptr;
  bool no_replace = false, json = false, quiet = false, skip_compiler_check = false, no_original_cache = false;
  int jobs = 0;
  int fuzz = 0;
  int max_header_units = 200;
};
CLI::App *add_build_command(CLI::App &app, BuildArgs &args);
ExitCode run_build_command(const BuildArgs &args);

struct InspectArgs {
  std::string module;
  bool json = false;
};
CLI::App *add_inspect_command(CLI::App &app, InspectArgs &args);
ExitCode run_inspect_command(const InspectArgs &args);

struct RepoArgs {
  std::string dir, keys, module, report, role, keyid, kernel, root_file, cve_file;
  std::vector<std::string> channels, expires, cves;
  std::string level;
  unsigned root_keys = 1, root_threshold = 1;
  bool force = false, json = false;
  CLI::App *init = nullptr, *add = nullptr, *promote = nullptr, *demote = nullptr, *refresh = nullptr,
           *rotate = nullptr, *list = nullptr, *verify = nullptr;
};
CLI::App *add_repo_command(CLI::App &app, RepoArgs &args);
ExitCode run_repo_command(const RepoArgs &args);

struct SignArgs {
  std::string module, key, cert, hash, config, output;
  bool json = false, quiet = false;
};
CLI::App *add_sign_command(CLI::App &app, SignArgs &args);
ExitCode run_sign_command(const SignArgs &args);

// The "signature" object of the .json report and of `sign --json`.
nlohmann::json signature_report(const build::Signer &signer, const std::string &hash, u64 sig_size,
                                const std::string &unsigned_sha256);
// --hash if given, else CONFIG_MODULE_SIG_HASH of `config` if it names one, else sha256.
Expected<std::string> signing_hash(const std::string &option, const std::string &config);

// `kpatch-gen build --sign-key KEY [--sign-cert CERT]` (sign_cmd.cc): the options, and the
// builder's ModuleSigner on builder/sign.h (the key is loaded with the build's inputs, the
// signature is the last change to the module's bytes).
void add_build_sign_options(CLI::App *build, BuildArgs &args);
// Null when the build is not signed.
std::shared_ptr<build::ModuleSigner> build_signer(const BuildArgs &args);

// Where templates/ is: $KPATCH_GEN_TEMPLATES, else the source tree's (compiled in).
std::string templates_dir();

} // namespace kpg::cli
