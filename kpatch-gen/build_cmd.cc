// SPDX-License-Identifier: GPL-2.0-only
//
// `kpatch-gen build`: from a kernel source tree and .patch files to a verified live patch
// module, compiling only the translation units the patch touches (twice) instead of the
// whole kernel. This file is the command line; the pipeline and its stages are in
// builder/build.h.
#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

#include "builder/build.h"
#include "commands.h"
#include "patchrepo/levels.h"
#include "support/diag.h"

namespace kpg::cli {

std::string templates_dir() {
  if (const char *t = std::getenv("KPATCH_GEN_TEMPLATES"); t && *t)
    return t;
  return KPG_TEMPLATES_DIR;
}

static std::string build_help() {
  return "Build a live patch module for a Linux 6.1 or 6.12 x86-64 kernel from one or more source patches, compiling only "
         "the translation units the patches touch (original and patched) in a cached, prepared copy of the kernel "
         "tree. Several patches combine into one cumulative module; atomic replace is on unless --no-replace.\n\n"
         "Exit codes:\n"
         "  0  module written (OUTDIR/NAME.ko and OUTDIR/NAME.json)\n"
         "  1  refused (the reasons are printed with their codes) or error\n"
         "  2  usage error\n"
         "  3  no functional change in the patches, or none of the files they change is built in this kernel "
         "(\"not built in this kernel (CONFIG_X is not set)\": the kernel is not affected)\n"
         "  4  the patched source does not compile (the compiler's first error is shown, with file and line)\n"
         "A patched source that compiles with warnings (gcc's in the files the patches change, objtool's in the "
         "units compiled for them) still builds; each warning is printed with file:line:column and listed as "
         "compile_warnings in NAME.json and the --json result.\n\n"
         "Cache: $KPATCH_GEN_CACHE (default ~/.cache/kpatch-gen); one prepared tree per source, config, compiler and "
         "release (prep/); the compiled original units (originals/, at most 1 GiB, least recently used removed "
         "first), each used only while its source, every header it includes, its Makefiles and the toolchain are "
         "unchanged, so that a second patch to a file compiles only the patched side; a full build's dependency "
         "lists (deps/, read again when a .cmd file changes). The user's source tree is never modified; any cache "
         "directory can be deleted when no build runs.\n\n"
         "Example (the lab kernel of ci/lab):\n"
         "  L=$(ci/lab/lab.sh kernel --print-dir)\n"
         "  kpatch-gen build examples/cmdline-string/cmdline-string.patch --kernel-src $L/src \\\n"
         "      --target-vmlinux $L/build/vmlinux -o out/\n\n"
         "Example (the Debian 12 kernel this machine runs; packages are fetched into the cache):\n"
         "  kpatch-gen build my-fix.patch --debian-kernel running -o out/\n";
}

CLI::App *add_build_command(CLI::App &app, BuildArgs &a) {
  CLI::App *c = app.add_subcommand("build", "build a verified live patch module from source patches");
  c->footer(build_help());
  c->add_option("PATCH", a.patches, "unified diffs against --kernel-src, applied in order")->required()->check(CLI::ExistingFile);
  c->add_option("--kernel-src", a.kernel_src, "pristine kernel source tree (never modified)")->check(CLI::ExistingDirectory);
  c->add_option("--target-vmlinux", a.vmlinux, "vmlinux of the kernel the patch is for (symbols; DWARF helps)")
      ->check(CLI::ExistingFile);
  c->add_option("--config", a.config, "kernel .config (default: .config next to --target-vmlinux)")->check(CLI::ExistingFile);
  c->add_option("--target-modules", a.modules_dir, "directory with the target's module .ko files (searched recursively)")
      ->check(CLI::ExistingDirectory);
  c->add_option("--target-debug-modules", a.debug_modules_dir,
                "directory with unstripped copies of the target's modules (symbols of a module are resolved there; "
                "the shipped .ko files are usually stripped of their FILE symbols). Default with --debian-kernel: "
                "the -dbg package's /usr/lib/debug/lib/modules/RELEASE")
      ->check(CLI::ExistingDirectory);
  c->add_option("--symvers", a.symvers, "target Module.symvers (default: next to --target-vmlinux)")->check(CLI::ExistingFile);
  c->add_option("--kernel-build", a.kernel_build,
                "directory of a full build of the target kernel, for header dependencies (default: the directory of "
                "--target-vmlinux when it has kbuild's .cmd files). Without one (a distribution kernel), a changed "
                "header's units are its includers in the source tree's #include graph that this configuration may "
                "build, each compiled and kept when kbuild's dependency list of it names the header")
      ->check(CLI::ExistingDirectory);
  c->add_option("--max-header-units", a.max_header_units,
                "without --kernel-build, refuse a changed header that more than N units of this configuration may "
                "include (default 200: include/linux/sched.h has thousands, hours of compiling)")
      ->check(CLI::Range(1, 100000));
  a.debian_opt = c->add_option("--debian-kernel", a.debian_release,
                                "build for Debian's own kernel RELEASE (e.g. 6.1.0-56-cloud-amd64, 6.12.118+deb12-cloud-amd64; "
                                "'running' = `uname "
                                "-r`): source, config, symvers, vmlinux and modules come from its packages, fetched "
                                "with apt into the cache when not installed");
  c->add_option("--name", a.name, "module name (default: livepatch_<first patch name>)");
  c->add_flag("--no-replace", a.no_replace, "do not replace older live patches atomically (stack on top of them)");
  c->add_option("--cve", a.cves, "CVE fixed, as ID or ID:CVSS (CVE-2024-1086:7.8), recorded in the module and the "
                                 "report; the score is what `kpatch-gen repo` and the agent's min_cvss use (repeatable)");
  c->add_option("--cve-file", a.cve_file, "CVE metadata: a JSON array [{\"id\": \"CVE-...\", \"cvss\": 7.8}, ...]")
      ->check(CLI::ExistingFile);
  c->add_option("--description", a.description, "MODULE_DESCRIPTION of the module");
  add_build_sign_options(c, a); // --sign-key, --sign-cert (sign_cmd.cc)
  c->add_option("-o,--output", a.outdir, "output directory (default: .)");
  c->add_option("-j,--jobs", a.jobs, "parallel compile jobs (default: number of CPUs)");
  c->add_option("--fuzz", a.fuzz,
                "let patch(1) ignore up to N context lines at each end of a hunk (default 0: every hunk must match "
                "exactly, at its line or, when its lines occur only once in the file, at an offset)")
      ->check(CLI::Range(0, 3));
  c->add_option("--cache", a.cache, "cache directory (default: $KPATCH_GEN_CACHE or ~/.cache/kpatch-gen)");
  c->add_flag("--no-original-cache", a.no_original_cache,
              "compile the original units afresh with kbuild (their objects in the prepared tree are removed "
              "first), without reading or filling the cache of compiled originals: to compare, or to rule it out");
  c->add_flag("--skip-compiler-check", a.skip_compiler_check,
              "build even if the compiler or its flags differ from the target kernel's (at your own risk)");
  c->add_flag("--json", a.json, "print the result as JSON on stdout");
  c->add_flag("-q,--quiet", a.quiet, "no progress output");
  return c;
}

static ExitCode build_exit(build::BuildOutcome o) {
  switch (o) {
  case build::BuildOutcome::Built: return ExitCode::Ok;
  case build::BuildOutcome::NoChange:
  case build::BuildOutcome::NotBuilt: return ExitCode::NoChange;
  case build::BuildOutcome::CompileError: return ExitCode::CompileError;
  case build::BuildOutcome::Refused:
  case build::BuildOutcome::Failed: return ExitCode::Failed;
  }
  return ExitCode::Failed;
}

// --cve ID[:CVSS] and --cve-file (lib/patchrepo parses both): ids for the module, scores for
// NAME.json. A malformed one is a usage error, before any work.
static bool parse_cves(const BuildArgs &a, std::vector<build::CveFixed> &out, Diag &diag) {
  std::vector<patchrepo::Cve> cves;
  for (const std::string &spec : a.cves) {
    auto c = patchrepo::parse_cve_spec(spec);
    if (!c) {
      diag.error(Location(), "--cve " + c.error().message);
      return false;
    }
    cves.push_back(*c);
  }
  if (!a.cve_file.empty()) {
    auto f = patchrepo::read_cve_file(a.cve_file);
    if (!f) {
      diag.error(f.error().loc, f.error().message);
      return false;
    }
    cves.insert(cves.end(), f->begin(), f->end());
  }
  for (const patchrepo::Cve &c : cves) {
    auto same = [&](const build::CveFixed &x) { return x.id == c.id; };
    auto it = std::find_if(out.begin(), out.end(), same);
    if (it == out.end())
      it = out.insert(out.end(), build::CveFixed{c.id, "", ""});
    if (c.score10) {
      it->score = c.score_text();
      it->severity = c.severity();
    }
  }
  return true;
}

ExitCode run_build_command(const BuildArgs &a) {
  build::BuildRequest r;
  Diag diag;
  diag.set_program("kpatch-gen build");
  if (!parse_cves(a, r.cves, diag))
    return ExitCode::Usage;
  r.patches = a.patches;
  r.kernel_src = a.kernel_src;
  r.vmlinux = a.vmlinux;
  r.config = a.config;
  r.modules_dir = a.modules_dir;
  r.debug_modules_dir = a.debug_modules_dir;
  r.symvers = a.symvers;
  r.kernel_build = a.kernel_build;
  if (a.debian_opt && a.debian_opt->count() > 0)
    r.debian_release = a.debian_release;
  r.name = a.name;
  r.description = a.description;
  r.outdir = a.outdir;
  r.cache = a.cache;
  r.templates_dir = templates_dir();
  r.replace = !a.no_replace;
  r.skip_compiler_check = a.skip_compiler_check;
  r.original_cache = !a.no_original_cache;
  r.quiet = a.quiet;
  r.jobs = a.jobs;
  r.signer = build_signer(a);
  r.fuzz = static_cast<u32>(a.fuzz);
  r.max_header_units = static_cast<size_t>(a.max_header_units);
  build::Build b(std::move(r));
  build::run_build(b);
  if (a.json)
    std::printf("%s\n", build::build_result_json(b).dump(2).c_str());
  return build_exit(b.outcome);
}

} // namespace kpg::cli
