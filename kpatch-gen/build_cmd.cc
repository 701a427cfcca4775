// SPDX-License-Identifier: GPL-2.0-only
//
// `kpatch-gen build`: from a kernel source tree and .patch files to a verified live patch
// module, compiling only the translation units the patch touches (twice) instead of the
// whole kernel. The pipeline, in order (each stage prints a progress line and its time):
//
//   1. inputs     parse the patches, read the target (release, build ID, symvers)
//   2. tree       open or prepare the cached original tree (kbuild prepare only)
//   3. patch      apply the patches to the hard-link copy of the source
//   4. compile    the affected units, original and patched, with the kernel's exact flags
//   5. diff       each pair with the diff engine; refusals stop here with their reasons
//   6. check      the original objects must match the target kernel
//   7. module     generate the module source, link it with kbuild, post-link
//   8. verify     vermagic, CRCs, undefined symbols; sign (--sign-key); write NAME.ko and NAME.json
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "builder/compiler.h"
#include "builder/debian.h"
#include "builder/kconfig.h"
#include "builder/kbuild.h"
#include "builder/modgen.h"
#include "builder/modules.h"
#include "builder/patchfile.h"
#include "builder/postlink.h"
#include "builder/process.h"
#include "builder/progress.h"
#include "builder/tree.h"
#include "builder/verify.h"
#include "commands.h"
#include "diff/klp_format.h"
#include "diff/pipeline.h"
#include "diff/special_sections.h"
#include "patchrepo/levels.h"
#include "dwarf/dwarf.h"
#include "elf/reader.h"
#include "elf/sections.h"
#include "elf/writer.h"
#include "support/file.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace kpg::cli {

enum BuildExit { BUILD_OK = 0, BUILD_ERROR = 1, BUILD_USAGE = 2, BUILD_NO_CHANGE = 3, BUILD_COMPILE_ERROR = 4 };

static std::string default_cache() {
  if (const char *c = std::getenv("KPATCH_GEN_CACHE"); c && *c)
    return c;
  const char *home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.cache/kpatch-gen";
}

std::string templates_dir() {
  if (const char *t = std::getenv("KPATCH_GEN_TEMPLATES"); t && *t)
    return t;
  return KPG_TEMPLATES_DIR;
}

static std::string build_help() {
  return "Build a live patch module for a Linux 6.1 x86-64 kernel from one or more source patches, compiling only "
         "the translation units the patches touch (original and patched) in a cached, prepared copy of the kernel "
         "tree. Several patches combine into one cumulative module; atomic replace is on unless --no-replace.\n\n"
         "Exit codes:\n"
         "  0  module written (OUTDIR/NAME.ko and OUTDIR/NAME.json)\n"
         "  1  refused (the reasons are printed with their codes) or error\n"
         "  2  usage error\n"
         "  3  no functional change in the patches, or none of the files they change is built in this kernel "
         "(\"not built in this kernel (CONFIG_X is not set)\": the kernel is not affected)\n"
         "  4  the patched source does not compile (the compiler's first error is shown, with file and line)\n\n"
         "Cache: $KPATCH_GEN_CACHE (default ~/.cache/kpatch-gen); one prepared tree per source, config, compiler and "
         "release. The user's source tree is never modified.\n\n"
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
                "--target-vmlinux when it has kbuild's .cmd files)")
      ->check(CLI::ExistingDirectory);
  a.debian_opt = c->add_option("--debian-kernel", a.debian_release,
                                "build for Debian's own kernel RELEASE (e.g. 6.1.0-56-cloud-amd64; 'running' = `uname "
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
  c->add_option("--cache", a.cache, "cache directory (default: $KPATCH_GEN_CACHE or ~/.cache/kpatch-gen)");
  c->add_flag("--skip-compiler-check", a.skip_compiler_check,
              "build even if the compiler or its flags differ from the target kernel's (at your own risk)");
  c->add_flag("--json", a.json, "print the result as JSON on stdout");
  c->add_flag("-q,--quiet", a.quiet, "no progress output");
  return c;
}

namespace {

struct BuildState {
  explicit BuildState(const BuildArgs &a) : args(a), progress(a.quiet, 8) {}
  const BuildArgs &args;
  build::Progress progress;
  int jobs = 1;
  std::vector<build::PatchInfo> patches;
  std::vector<std::string> files;
  std::string kernel_src, vmlinux, modules_dir, debug_modules_dir; // from the command line or the Debian packages
  std::string release, build_id, config, symvers_path, outdir, name, cache, work;
  json debian;
  std::map<std::string, u64> struct_sizes; // special-section entry sizes from the target's DWARF
  std::optional<diff::Symvers> symvers;
  std::optional<build::BuildDeps> deps;
  std::unique_ptr<build::PreparedTree> tree;
  std::vector<build::Unit> units;
  std::vector<std::string> diff_objects;
  build::ModuleSpec spec;
  std::optional<BuildSigning> signing; // --sign-key, loaded before anything is built
  json unit_results = json::array();
  json reports = json::object();
  std::vector<std::string> cve_ids; // --cve and --cve-file, without the scores
  json cvss = json::object();       // {"CVE-...": {"score": "7.8", "severity": "HIGH"}}
  json result = json::object();
  bool compile_error = false;
};

void fail(BuildState &st, const std::string &msg) {
  std::fprintf(stderr, "kpatch-gen build: error: %s\n", msg.c_str());
  st.result["result"] = "error";
  st.result["error"] = msg;
}

// Every problem of a phase at once, one per line under `headline`.
void fail(BuildState &st, std::string headline, const std::vector<std::string> &problems) {
  for (const std::string &p : problems)
    headline += "\n  " + p;
  fail(st, headline);
}

int finish(BuildState &st, int code) {
  if (st.tree)
    (void)st.tree->restore(); // the hard-link copy goes back to pristine, whatever happened
  st.progress.finish();
  json t = json::object();
  for (const auto &[n, s] : st.progress.timings())
    t[n] = s;
  st.result["timings"] = t;
  st.result["total_seconds"] = st.progress.total_seconds();
  if (st.args.json)
    std::printf("%s\n", st.result.dump(2).c_str());
  return code;
}

// 1. Patches, target release / build ID / symvers / config, and a full build's dependencies.
bool stage_inputs(BuildState &st) {
  const BuildArgs &a = st.args;
  st.progress.stage("inputs", fmt::format("{} patch(es)", a.patches.size()));
  st.cache = a.cache.empty() ? default_cache() : a.cache;
  st.kernel_src = a.kernel_src;
  st.vmlinux = a.vmlinux;
  st.modules_dir = a.modules_dir;
  st.debug_modules_dir = a.debug_modules_dir;
  if (a.debian_opt && a.debian_opt->count() > 0) {
    std::string rel = a.debian_release;
    if (rel.empty() || rel == "running") {
      auto d = build::default_debian_release();
      if (!d) {
        fail(st, d.error().str());
        return false;
      }
      rel = *d;
    }
    auto k = build::provision_debian_kernel(rel, st.cache, st.progress);
    if (!k) {
      fail(st, k.error().str());
      return false;
    }
    st.progress.note(fmt::format("Debian kernel {} ({}): packages {} in {:.1f} s", k->release, k->version,
                                 k->downloaded ? "fetched and unpacked" : "found", k->provision_seconds));
    if (st.kernel_src.empty())
      st.kernel_src = k->source_tree;
    if (st.vmlinux.empty())
      st.vmlinux = k->vmlinux;
    if (st.modules_dir.empty())
      st.modules_dir = k->modules_dir;
    if (st.debug_modules_dir.empty())
      st.debug_modules_dir = k->debug_modules_dir;
    st.config = !a.config.empty() ? a.config : k->config;
    st.symvers_path = !a.symvers.empty() ? a.symvers : k->symvers;
    st.debian = {{"release", k->release}, {"version", k->version}, {"vmlinux", k->vmlinux}, {"vmlinuz", k->vmlinuz},
                 {"modules", k->modules_dir}, {"source", k->source_tree}, {"provision_seconds", k->provision_seconds},
                 {"downloaded", k->downloaded}};
    st.result["debian"] = st.debian;
  }
  if (st.kernel_src.empty() || st.vmlinux.empty()) {
    fail(st, "give --kernel-src and --target-vmlinux, or --debian-kernel");
    return false;
  }
  std::vector<std::string> problems;
  std::set<std::string> seen;
  for (const std::string &p : a.patches) {
    auto info = build::parse_patch(p);
    if (!info) {
      problems.push_back(info.error().str());
      continue;
    }
    for (const build::PatchedFile &f : info->files) {
      if (std::string why = build::unsupported_reason(f.path); !why.empty())
        problems.push_back(fmt::format("{}: {}: {}", p, f.path, why));
      if (seen.insert(f.path).second)
        st.files.push_back(f.path);
    }
    st.patches.push_back(std::move(*info));
  }
  std::string vmdir = fs::path(st.vmlinux).parent_path().string();
  if (vmdir.empty())
    vmdir = ".";
  if (st.config.empty())
    st.config = !a.config.empty() ? a.config : vmdir + "/.config";
  if (!fs::exists(st.config))
    problems.push_back("no kernel config: pass --config (looked for " + st.config + ")");
  if (st.symvers_path.empty())
    st.symvers_path = !a.symvers.empty() ? a.symvers : vmdir + "/Module.symvers";
  if (fs::exists(st.symvers_path)) {
    auto sv = diff::Symvers::load(st.symvers_path);
    if (!sv)
      problems.push_back(sv.error().str());
    else
      st.symvers = std::move(*sv);
  } else {
    problems.push_back("no Module.symvers of the target: pass --symvers (looked for " + st.symvers_path + ")");
  }
  auto rel = build::kernel_release(st.vmlinux);
  if (!rel)
    problems.push_back(rel.error().str());
  else
    st.release = *rel;
  if (auto bid = elf::read_build_id(st.vmlinux))
    st.build_id = *bid;
  else
    st.progress.note("note: the target vmlinux has no build ID; the module will not record one");
  std::string deps_dir = a.kernel_build;
  if (deps_dir.empty() && fs::exists(vmdir + "/vmlinux.o"))
    deps_dir = vmdir;
  if (!deps_dir.empty()) {
    auto d = build::BuildDeps::load(deps_dir);
    if (!d)
      problems.push_back(d.error().str());
    else
      st.deps = std::move(*d);
  }
  // A wrong key or passphrase is found now, not after the compile.
  if (auto s = BuildSigning::load(a, st.config); !s)
    problems.push_back(s.error().str());
  else
    st.signing = std::move(*s);
  if (!problems.empty()) {
    fail(st, "cannot start:", problems);
    return false;
  }
  std::string first = fs::path(a.patches[0]).stem().string();
  st.name = build::sanitize_module_name(!a.name.empty() ? a.name : "livepatch_" + first);
  st.outdir = a.outdir.empty() ? "." : a.outdir;
  st.jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  st.progress.note(fmt::format("target {} (build ID {}), module {}", st.release,
                               st.build_id.empty() ? "none" : st.build_id, st.name));
  if (st.deps)
    st.progress.note(fmt::format("header dependencies from {} ({} objects)", st.deps->dir(), st.deps->object_count()));
  // Entry sizes of the special sections, read once for every unit's diff.
  if (auto sizes = dwarf::struct_sizes(st.vmlinux, diff::special_section_structs()))
    st.struct_sizes = std::move(*sizes);
  else
    st.progress.note("note: no DWARF struct sizes in the target (" + sizes.error().message +
                     "); the built-in 6.1 entry sizes are used");
  return true;
}

// 2. The prepared tree (cached per source, config, compiler, release).
bool stage_tree(BuildState &st) {
  st.progress.stage("tree", "prepared original tree for " + st.kernel_src);
  build::TreeInputs ti;
  ti.kernel_src = st.kernel_src;
  ti.config = st.config;
  ti.symvers = st.symvers_path;
  ti.cache_root = st.cache;
  ti.templates_dir = templates_dir();
  ti.release = st.release;
  ti.cc = build::compiler_from_config(st.config);
  ti.jobs = st.jobs;
  auto tree = build::PreparedTree::open(ti, st.progress);
  if (!tree) {
    fail(st, tree.error().str());
    return false;
  }
  st.tree = std::make_unique<build::PreparedTree>(std::move(*tree));
  st.progress.note((st.tree->was_cached() ? "cached: " : "prepared: ") + st.tree->dir());
  st.result["prepared_tree"] = {{"dir", st.tree->dir()}, {"cached", st.tree->was_cached()},
                                {"kernel_src", st.tree->kernel_src()}, {"make_vars", st.tree->make_vars()}};
  st.work = st.tree->dir() + "/work";
  std::error_code ec;
  fs::remove_all(st.work, ec);
  fs::create_directories(st.work + "/diff", ec);
  return true;
}

// 3. Apply the patches to the hard-link copy; find the affected units.
bool stage_patch(BuildState &st) {
  st.progress.stage("patch", fmt::format("{} file(s)", st.files.size()));
  std::vector<std::string> paths;
  std::vector<build::PatchedFile> all;
  for (const build::PatchInfo &p : st.patches) {
    paths.push_back(p.file);
    all.insert(all.end(), p.files.begin(), p.files.end());
  }
  if (auto ap = st.tree->apply_patches(paths, st.files); !ap) {
    fail(st, ap.error().str());
    return false;
  }
  auto units = build::affected_units(all, st.deps ? &*st.deps : nullptr);
  if (!units) {
    fail(st, units.error().str());
    return false;
  }
  if (units->empty()) {
    fail(st, "the patches change no translation unit of this kernel");
    return false;
  }
  st.units = std::move(*units);
  // Files this configuration does not compile (drivers/tty/n_gsm.c with CONFIG_N_GSM unset):
  // not this kernel's concern; the rest of a multi-file patch is still built.
  auto config = build::KernelConfig::load(st.config);
  if (!config) {
    fail(st, config.error().str());
    return false;
  }
  for (build::Unit &u : st.units) {
    if (u.why != "changed by the patch")
      continue; // a unit that includes a changed file is in a full build's lists: it is built
    if (auto nb = build::not_built_reason(st.kernel_src, u.source, *config))
      u.not_built = fmt::format("{} is not set; {}", nb->option, nb->where);
    else if (!u.not_built.empty())
      continue; // a full build lacks it, for reasons the Makefiles do not show plainly
  }
  size_t built = 0;
  for (const build::Unit &u : st.units) {
    if (u.not_built.empty()) {
      built++;
      continue;
    }
    st.progress.note(fmt::format("{}: not built in this kernel ({}): this kernel is not affected", u.source, u.not_built));
    st.unit_results.push_back({{"source", u.source}, {"object", u.object}, {"why", u.why}, {"result", "not-built"},
                               {"code", "NOT_BUILT"}, {"reason", u.not_built}});
  }
  if (built == 0) {
    st.result["result"] = "not-built";
    st.result["units"] = st.unit_results;
    std::fprintf(stderr, "kpatch-gen build: none of the changed files is built in this kernel: it is not affected\n");
    for (const build::Unit &u : st.units)
      std::fprintf(stderr, "  %s: not built in this kernel (%s)\n", u.source.c_str(), u.not_built.c_str());
    return false;
  }
  return true;
}

// 4. Compile original and patched units.
bool stage_compile(BuildState &st) {
  st.progress.stage("compile", fmt::format("{} unit(s), original and patched", st.units.size()));
  for (const build::Unit &u : st.units)
    st.progress.note(fmt::format("{}: {}", u.object, u.why));
  auto c = build::compile_units(*st.tree, st.units, st.jobs, st.work, st.progress);
  if (!c) {
    fail(st, c.error().str());
    return false;
  }
  if (const auto &e = *c) {
    std::string where = fmt::format("{}:{}:{}", e->file, e->line, e->column);
    fail(st, fmt::format("the patched source does not compile: {}: {}\n{}  (whole log: {})", where, e->message,
                         e->context, e->log));
    st.result["result"] = "compile-error";
    st.result["compile_error"] = {{"object", e->object}, {"file", e->file}, {"line", e->line}, {"column", e->column},
                                  {"message", e->message}, {"log", e->log}};
    for (const build::Unit &u : st.units)
      if (u.not_built.empty())
        st.unit_results.push_back({{"source", u.source}, {"object", u.object}, {"why", u.why},
                                   {"result", e->object.empty() || e->object == u.object ? "compile-error" : "pending"}});
    st.result["units"] = st.unit_results;
    st.compile_error = true;
    return false;
  }
  return true;
}

// 5. Diff every pair. Refusals of all units are shown before stopping.
int stage_diff(BuildState &st) {
  st.progress.stage("diff", fmt::format("{} unit(s)", st.units.size()));
  std::map<std::string, build::ModuleObject> objects;
  bool refused = false;
  size_t n = 0;
  for (build::Unit &u : st.units) {
    if (!u.not_built.empty())
      continue;
    diff::Options o;
    o.orig_path = st.tree->orig_obj() + "/" + u.object;
    o.patched_path = st.tree->patched_obj() + "/" + u.object;
    o.out_path = fmt::format("{}/diff/kpg_d{}.o", st.work, n);
    o.report_path = fmt::format("{}/diff/kpg_d{}.json", st.work, n);
    o.objname = u.objname;
    o.symvers_path = st.symvers_path;
    if (!st.struct_sizes.empty())
      o.target_struct_sizes = st.struct_sizes;
    // A changed exported function is refused when its genksyms CRC changed.
    if (auto crcs = build::unit_symver_crcs(st.tree->orig_obj(), st.tree->patched_obj(), u.object); !crcs) {
      fail(st, crcs.error().str());
      return BUILD_ERROR;
    } else if (*crcs) {
      o.orig_crcs = (*crcs)->first;
      o.patched_crcs = (*crcs)->second;
    }
    std::string shipped; // a module's .ko as the kernel loads it (target_path may be its unstripped copy)
    if (u.objname == "vmlinux") {
      o.target_path = st.vmlinux;
    } else {
      auto ko = build::find_target_module({st.modules_dir, st.deps ? st.deps->dir() : ""}, {st.debug_modules_dir},
                                          u.module_file);
      if (!ko) {
        fail(st, fmt::format("{} belongs to module {}: {}", u.object, u.objname, ko.error().str()));
        return BUILD_ERROR;
      }
      o.target_path = ko->symbols;
      shipped = ko->shipped;
      if (!ko->note.empty())
        st.progress.note(fmt::format("{}: {}", u.object, ko->note));
    }
    Diag diag;
    diff::DiffResult r = diff::run_diff(o, diag);
    st.reports[u.source] = r.report;
    json ur = {{"source", u.source}, {"object", u.object}, {"objname", u.objname}, {"why", u.why},
               {"result", r.report.value("result", "error")}, {"target", o.target_path}};
    if (!shipped.empty() && shipped != o.target_path)
      ur["shipped"] = shipped;
    st.unit_results.push_back(ur);
    if (r.exit_code == diff::EXIT_NO_CHANGE) {
      st.progress.note(u.object + ": no functional change");
      continue;
    }
    if (r.exit_code != diff::EXIT_CHANGED) {
      refused = true;
      continue;
    }
    st.diff_objects.push_back(o.out_path);
    n++;
    build::ModuleObject &mo = objects[u.objname];
    mo.name = u.objname;
    for (const diff::PatchedFunction &f : r.output.functions) {
      st.progress.note(fmt::format("{}: patch {}{}", u.object, f.old_name, f.sympos ? fmt::format(",{}", f.sympos) : ""));
      mo.funcs.push_back(build::ModuleFunc{f.old_name, f.sympos, f.alias, u.source});
    }
    for (const diff::Callback &cb : r.callbacks) {
      if (mo.callbacks.count(cb.kind)) {
        fail(st, fmt::format("two {} callbacks for {} (one in {}): livepatch runs one callback of each kind per object",
                             diff::callback_kind_name(cb.kind), u.objname, u.source));
        return BUILD_ERROR;
      }
      mo.callbacks[cb.kind] = cb.alias;
    }
  }
  if (refused) {
    fail(st, "the patch cannot be live patched (reasons above; details in --json output)");
    st.result["result"] = "refused";
    json codes = json::array();
    for (const auto &[unit, rep] : st.reports.items())
      for (const json &r : rep.value("refusals", json::array()))
        codes.push_back({{"unit", unit}, {"code", r["code"]}, {"message", r["message"]}});
    st.result["refusals"] = codes;
    st.result["units"] = st.unit_results;
    return BUILD_ERROR;
  }
  if (st.diff_objects.empty()) {
    st.result["result"] = "no-change";
    st.result["units"] = st.unit_results;
    if (!st.args.quiet)
      std::fprintf(stderr, "kpatch-gen build: no functional change in the patches\n");
    return BUILD_NO_CHANGE;
  }
  // vmlinux first, then modules by name: the order of klp_objects in the generated module.
  if (objects.count("vmlinux"))
    st.spec.objects.push_back(objects["vmlinux"]);
  for (auto &[name, o] : objects)
    if (name != "vmlinux")
      st.spec.objects.push_back(o);
  return BUILD_OK;
}

// 6. The original objects must reproduce the target, compiled by the same compiler.
bool stage_check(BuildState &st) {
  st.progress.stage("check", "compiler and original objects against the target kernel");
  std::vector<std::string> problems, compiler_problems;
  // The compiler: version from the target's .comment, flags from its DW_AT_producer.
  auto comment = elf::read_section_bytes(st.vmlinux, ".comment");
  std::string target_cc = comment ? std::string(comment->begin(), std::find(comment->begin(), comment->end(), 0)) : "";
  if (!target_cc.empty() && build::compiler_identity(target_cc) != build::compiler_identity(st.tree->compiler()))
    compiler_problems.push_back(fmt::format("the target was built by '{}', the objects would be built by '{}'",
                                            target_cc, st.tree->compiler()));
  std::vector<std::string> vmlinux_sources;
  for (const json &ur : st.unit_results)
    if (ur.value("objname", "") == "vmlinux")
      vmlinux_sources.push_back(ur["source"]);
  dwarf::CuOptions co;
  co.functions = true;
  co.only_names = vmlinux_sources;
  std::map<std::string, const dwarf::CompileUnit *> cu_of;
  std::vector<dwarf::CompileUnit> cus;
  if (!vmlinux_sources.empty()) {
    auto r = dwarf::compile_units(st.vmlinux, co);
    if (r)
      cus = std::move(*r);
    else
      st.progress.note("note: no DWARF in the target vmlinux (" + r.error().message +
                       "): objects are checked against its symbol table only, and compiler flags are not compared");
  }
  for (const dwarf::CompileUnit &cu : cus)
    for (const std::string &src : vmlinux_sources)
      if (cu.name == src || cu.name.ends_with("/" + src))
        cu_of[src] = &cu;
  std::map<std::string, diff::TargetSymbols> targets;
  for (const json &ur : st.unit_results) {
    if (!ur.contains("target"))
      continue; // not built in this kernel: nothing to check
    std::string src = ur["source"], tp = ur["target"];
    std::string orig_path = st.tree->orig_obj() + "/" + ur["object"].get<std::string>();
    auto orig = elf::read_object(orig_path);
    if (!orig) {
      problems.push_back(orig.error().str());
      continue;
    }
    if (!targets.count(tp)) {
      auto t = diff::TargetSymbols::load(tp);
      if (!t) {
        problems.push_back(t.error().str());
        continue;
      }
      targets.emplace(tp, std::move(*t));
    }
    if (auto it = cu_of.find(src); it != cu_of.end()) {
      std::vector<build::DwarfFunction> fns;
      for (const dwarf::FunctionInfo &f : it->second->functions)
        fns.push_back({f.name, f.size});
      for (const std::string &p : build::verify_original_dwarf(*orig, fns, targets.at(tp), src))
        problems.push_back(p);
      dwarf::CuOptions mine_opts;
      mine_opts.only_names = {src};
      if (auto mine = dwarf::compile_units(orig_path, mine_opts); mine && !mine->empty()) {
        auto d = build::producer_differences(it->second->producer, mine->front().producer);
        if (!d.empty())
          compiler_problems.push_back(
              fmt::format("{}: compiler flags differ from the target's ({})", src, fmt::join(d, " ")));
      }
      continue;
    }
    for (const std::string &p : build::verify_original(*orig, targets.at(tp), src))
      problems.push_back(p);
  }
  st.result["compiler"] = {{"target", target_cc}, {"ours", st.tree->compiler()}, {"problems", compiler_problems}};
  if (!compiler_problems.empty()) {
    if (st.args.skip_compiler_check) {
      for (const std::string &p : compiler_problems)
        std::fprintf(stderr, "kpatch-gen build: warning: %s (ignored: --skip-compiler-check)\n", p.c_str());
    } else {
      for (const std::string &p : compiler_problems)
        problems.push_back(p + " (--skip-compiler-check to build anyway, at your own risk)");
    }
  }
  if (!problems.empty()) {
    fail(st, "the original objects do not match the target kernel:", problems);
    return false;
  }
  return true;
}

json manifest(const BuildState &st) {
  json objs = json::array();
  for (const build::ModuleObject &o : st.spec.objects) {
    json funcs = json::array();
    for (const build::ModuleFunc &f : o.funcs)
      funcs.push_back({{"name", f.old_name}, {"sympos", f.sympos}, {"unit", f.unit}});
    json cbs = json::array();
    for (const auto &[k, v] : o.callbacks)
      cbs.push_back(diff::callback_kind_name(k));
    objs.push_back({{"name", o.name}, {"functions", funcs}, {"callbacks", cbs}});
  }
  return {{"format", "kpatch-gen-module/1"},
          {"name", st.spec.name},
          {"replace", st.spec.replace},
          {"description", st.spec.description},
          {"cves", st.spec.cves},
          {"target", {{"release", st.release}, {"build_id", st.build_id}}},
          {"objects", objs},
          {"patches", [&] {
             json p = json::array();
             for (const build::PatchInfo &pi : st.patches)
               p.push_back(fs::path(pi.file).filename().string());
             return p;
           }()}};
}

// 7./8. Link, post-link, verify, write.
int stage_module(BuildState &st) {
  st.spec.name = st.name;
  st.spec.replace = !st.args.no_replace;
  st.spec.description = st.args.description;
  st.spec.cves = st.cve_ids;
  st.spec.target_release = st.release;
  st.spec.target_build_id = st.build_id;
  st.spec.diff_objects = st.diff_objects;
  st.progress.stage("module", "generate and link " + st.name + ".ko");
  auto ko_path = build::build_module(*st.tree, st.spec, templates_dir(), st.jobs, st.progress);
  if (!ko_path) {
    fail(st, ko_path.error().str());
    return BUILD_ERROR;
  }
  auto ko = elf::read_object(*ko_path);
  if (!ko) {
    fail(st, ko.error().str());
    return BUILD_ERROR;
  }
  json man = manifest(st);
  auto pl = build::post_link(*ko, man.dump());
  if (!pl) {
    fail(st, "post-link: " + pl.error().str());
    return BUILD_ERROR;
  }
  st.progress.note(fmt::format("{} livepatch relocation(s) in {} section(s), {} .klp.sym symbol(s)", pl->klp_relocs,
                               pl->klp_sections, pl->klp_symbols));
  // 6.1 does not clear module-specific livepatch relocations when the target module unloads
  // (upstream 6.3, "livepatch,x86: Clear relocation targets on a module removal"), and x86's
  // apply_relocate_add() refuses a non-zero target. The generated module clears them itself
  // from each module object's post_unpatch callback (templates/patch-module.c.in), so the
  // module can be unloaded and loaded again while the patch is loaded.
  json warnings = json::array();
  st.result["warnings"] = warnings;

  st.progress.stage("verify", st.signing ? "vermagic, CRCs, undefined symbols; sign" : "vermagic, CRCs, undefined symbols");
  build::VerifyInput vi{&*ko, st.vmlinux, st.symvers ? &*st.symvers : nullptr};
  auto problems = build::verify_module(vi);
  if (!problems.empty()) {
    fail(st, "the module does not fit the target kernel:", problems);
    return BUILD_ERROR;
  }
  auto bytes = elf::write_object_to_memory(*ko);
  if (!bytes) {
    fail(st, bytes.error().str());
    return BUILD_ERROR;
  }
  // Signing is the last change to the bytes: the signature covers all of them.
  json signature; // null: not signed
  if (st.signing) {
    auto sig = st.signing->sign(*bytes, st.name + ".ko");
    if (!sig) {
      fail(st, sig.error().str());
      return BUILD_ERROR;
    }
    signature = std::move(*sig);
    const build::Signer &who = st.signing->key.signer();
    st.progress.note(fmt::format("signed: {} by {} (key id {})", st.signing->hash, who.subject,
                                 who.key_id.empty() ? "none" : who.key_id));
  }
  std::error_code ec;
  fs::create_directories(st.outdir, ec);
  std::string out_ko = st.outdir + "/" + st.name + ".ko", out_json = st.outdir + "/" + st.name + ".json";
  if (auto w = write_file_atomic(out_ko, *bytes); !w) {
    fail(st, w.error().str());
    return BUILD_ERROR;
  }
  json full = man;
  full["module"] = st.name + ".ko";
  full["sha256"] = sha256_hex(*bytes);
  full["cvss"] = st.cvss;
  full["units"] = st.unit_results;
  full["reports"] = st.reports;
  full["klp_relocations"] = pl->klp_relocs;
  full["compiler"] = st.result["compiler"];
  full["signature"] = signature;
  if (!st.debian.is_null())
    full["debian"] = st.debian;
  if (auto w = write_text_file_atomic(out_json, full.dump(2) + "\n"); !w) {
    fail(st, w.error().str());
    return BUILD_ERROR;
  }
  for (const auto &[k, v] : full.items())
    if (k != "reports")
      st.result[k] = v; // the diff reports are in NAME.json; --json stays readable
  st.result["result"] = "built";
  st.result["output"] = {{"module", out_ko}, {"report", out_json}};
  if (!st.args.quiet)
    std::fprintf(stderr, "kpatch-gen build: wrote %s (sha256 %s) and %s\n", out_ko.c_str(),
                 full["sha256"].get<std::string>().c_str(), out_json.c_str());
  return BUILD_OK;
}

} // namespace

// --cve ID[:CVSS] and --cve-file: ids for the module, scores for the report (lib/patchrepo).
static bool parse_cves(BuildState &st) {
  std::vector<patchrepo::Cve> cves;
  for (const std::string &spec : st.args.cves) {
    auto c = patchrepo::parse_cve_spec(spec);
    if (!c) {
      std::fprintf(stderr, "kpatch-gen build: error: --cve %s\n", c.error().message.c_str());
      return false;
    }
    cves.push_back(*c);
  }
  if (!st.args.cve_file.empty()) {
    auto f = patchrepo::read_cve_file(st.args.cve_file);
    if (!f) {
      std::fprintf(stderr, "kpatch-gen build: error: %s\n", f.error().str().c_str());
      return false;
    }
    cves.insert(cves.end(), f->begin(), f->end());
  }
  for (const patchrepo::Cve &c : cves) {
    if (std::find(st.cve_ids.begin(), st.cve_ids.end(), c.id) == st.cve_ids.end())
      st.cve_ids.push_back(c.id);
    if (c.score10)
      st.cvss[c.id] = {{"score", c.score_text()}, {"severity", c.severity()}};
  }
  return true;
}

int run_build_command(const BuildArgs &a) {
  BuildState st(a);
  st.result["format"] = "kpatch-gen-build-result/1";
  if (!parse_cves(st))
    return BUILD_USAGE;
  if (!stage_inputs(st) || !stage_tree(st))
    return finish(st, BUILD_ERROR);
  if (!stage_patch(st))
    return finish(st, st.result.value("result", "") == "not-built" ? BUILD_NO_CHANGE : BUILD_ERROR);
  if (!stage_compile(st))
    return finish(st, st.compile_error ? BUILD_COMPILE_ERROR : BUILD_ERROR);
  if (int rc = stage_diff(st); rc != BUILD_OK)
    return finish(st, rc);
  if (!stage_check(st))
    return finish(st, BUILD_ERROR);
  return finish(st, stage_module(st));
}

} // namespace kpg::cli
