// SPDX-License-Identifier: GPL-2.0-only
//
// `kpatch-gen build` as a pipeline of stages over one Build, the builder's only state
// (build.cc runs them, in this order):
//
//   1. inputs   parse the patches; read the target kernel once (release, build ID, config,
//               Module.symvers, special-section entry sizes) and a full build's dependencies
//   2. tree     open or prepare the cached original tree (kbuild prepare only)
//   3. patch    apply the patches to the hard-link copy of the source; find the affected units
//               and which of them this kernel's configuration does not build
//   4. compile  the affected units, original and patched, with the kernel's exact flags; a
//               patched unit that does not compile ends the build with the compiler's error
//   5. diff     each unit against the running object it belongs to
//   6. check    the compiler, and the original objects against the target kernel
//   7. module   generate the module source, link it with kbuild, post-link
//   8. verify   vermagic, CRCs, undefined symbols; write NAME.ko and NAME.json
//
// Every stage has the same shape: it reads what earlier stages put into the Build, fills in
// its own part, reports each problem it finds through Build::diag and keeps going, and returns
// a Step: next, or done with the build's outcome when the build ends early without a problem
// (no functional change; no changed file built in this kernel). The pipeline stops at the
// checkpoint after any stage that reported an error; the build's outcome is then the units'
// (build_outcome_of): refused, compile error, or else an error. JSON is made only at the edges (result_json.cc): the --json result, NAME.json and
// the manifest inside the module.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/kbuild.h"
#include "builder/modgen.h"
#include "builder/patchfile.h"
#include "builder/postlink.h"
#include "builder/progress.h"
#include "builder/target.h"
#include "builder/tree.h"
#include "diff/pipeline.h"
#include "elf/model.h"
#include "support/diag.h"

namespace kpg::build {

// A CVE the patches fix (--cve ID[:CVSS], --cve-file): the id is recorded in the module, the
// score in NAME.json's "cvss", where `kpatch-gen repo add` and the agent's min_cvss read it.
struct CveFixed {
  std::string id;             // CVE-2024-1086
  std::string score, severity; // CVSS v3 base score and severity ("7.8", "HIGH"); "" when not given
};

// Signs the finished module (--sign-key; kpatch-gen/sign_cmd.cc implements it on
// builder/sign.h). load() runs with the other inputs, so that a wrong key or passphrase is one
// of the problems reported before anything compiles; sign() is the last change to the bytes.
class ModuleSigner {
public:
  virtual ~ModuleSigner() = default;
  virtual Expected<void> load(const std::string &config) = 0; // the target's .config: its hash
  virtual std::string describe() const = 0;                   // "sha256 by CN (key id ...)"
  // Appends the signature to `module`; returns the report's "signature" object.
  virtual Expected<nlohmann::json> sign(std::vector<u8> &module, const std::string &name) const = 0;
};

// What to build, from the command line (kpatch-gen/build_cmd.cc).
struct BuildRequest {
  std::vector<std::string> patches;
  std::string kernel_src, vmlinux, config, modules_dir, symvers, kernel_build;
  std::string debug_modules_dir;             // --target-debug-modules: unstripped copies of the modules
  std::optional<std::string> debian_release; // --debian-kernel ("running" or a release)
  std::string name, description, outdir, cache, templates_dir;
  std::vector<CveFixed> cves;
  std::shared_ptr<ModuleSigner> signer; // null: the module is not signed
  bool replace = true;
  bool skip_compiler_check = false;
  // Original units are taken from, and stored in, the cache of compiled originals
  // (builder/original_cache.h); --no-original-cache compiles them all.
  bool original_cache = true;
  bool quiet = false;
  int jobs = 0;  // 0: one per CPU
  u32 fuzz = 0;  // context lines patch(1) may ignore (0: every hunk applies exactly)
  // Without a full build, a changed header brings in the units that include it (the include
  // graph, builder/includes.h); more than this many candidates is refused (--max-header-units).
  size_t max_header_units = 200;
};

// How a build ended (the result JSON's "result"; the exit status: kpatch-gen/build_cmd.cc).
enum class BuildOutcome : u8 {
  Built,        // NAME.ko and NAME.json written
  NoChange,     // no unit has a functional change: nothing written
  NotBuilt,     // this kernel's configuration builds none of the changed files: not affected
  CompileError, // a patched unit does not compile (Build::compile_error): the patch is at fault
  Refused,      // a unit cannot be live patched (every reason reported, with its code)
  Failed,       // an error: inputs, tree, patch, compile, checks, link or verification
};
// "built", "no-change", "not-built", "compile-error", "refused", "error"
const char *build_outcome_name(BuildOutcome o);

// What became of one translation unit. Each outcome has its name (unit_outcome_name) and its
// weight in the build's outcome (build_outcome_of).
enum class UnitOutcome : u8 {
  Pending,      // found by the patch stage, not diffed yet
  NotBuilt,     // this kernel's configuration does not compile it (Unit::not_built says why)
  CompileError, // the patched unit does not compile (Build::compile_error)
  Changed,      // the diff found changes: UnitResult::diff_object holds them
  NoChange,     // no functional change
  Refused,      // the diff refused it: UnitResult::diff.refusals say why
  Failed,       // it could not be diffed (no target object, unreadable or incompatible objects)
};
// "pending", "not-built", "compile-error", "changed", "no-change", "refused", "error"
const char *unit_outcome_name(UnitOutcome o);

struct UnitResult {
  Unit unit; // source, object, why, and (after compile) the object it belongs to
  UnitOutcome outcome = UnitOutcome::Pending;
  const TargetObject *target = nullptr; // the running object it was diffed against
  diff::DiffResult diff;
  std::string diff_object; // the diff's output object (Changed)
};

// The build's outcome from its units: a unit that does not compile makes it CompileError
// (the other units stay Pending: compiling stops at the first error); else any unit not
// diffed makes it Failed; else any refused unit Refused; else Built when a unit Changed;
// else NotBuilt when no unit is built in this kernel, NoChange otherwise. Units that are not
// built do not count otherwise: a patch to n_gsm.c (not built) and cmdline.c builds a module
// for cmdline.c.
BuildOutcome build_outcome_of(const std::vector<UnitResult> &units);

// The compiler check: the target's compiler (vmlinux's .comment) and ours, and what differs.
struct CompilerCheck {
  bool done = false;
  std::string target, ours;
  std::vector<std::string> problems;
};

// What the module stages made.
struct ModuleResult {
  ModuleSpec spec;
  std::optional<elf::ObjectFile> ko; // linked and post-linked, not yet written
  size_t klp_relocs = 0;
  std::string ko_path, json_path, sha256; // once written
  nlohmann::json signature;               // NAME.json's "signature"; null: not signed
};

// A stage's verdict for the pipeline: go on, or the build is over with this outcome. Problems
// are not returned: they are in Build::diag, and the pipeline stops after a stage that
// reported any.
struct Step {
  std::optional<BuildOutcome> done;
  static Step next() { return {}; }
  static Step finish(BuildOutcome o) { return {o}; }
};

struct Build {
  explicit Build(BuildRequest r);
  BuildRequest req;
  Diag diag;
  Progress progress;

  // 1. inputs
  std::string name, outdir, cache; // module name, output directory, cache root
  int jobs = 1;
  Target target;
  std::vector<PatchInfo> patches;
  std::vector<std::string> files; // every file the patches touch, once, in order
  // 2. tree
  std::unique_ptr<PreparedTree> tree;
  std::string work; // this build's scratch directory (logs, diff objects)
  // 3.-5. patch, compile, diff
  std::vector<HunkPlacement> moved_hunks; // hunks applied at an offset or with fuzz
  std::vector<UnitResult> units;
  std::vector<HeaderImpact> headers;         // one per changed header: what it brought in
  std::vector<diff::Refusal> refusals;       // refusals of the patch itself, before any unit (struct_defs.h)
  std::optional<CompileError> compile_error; // the compiler's first error in a patched unit
  std::vector<CompileWarning> compile_warnings; // the patched side's, in what the patch touched
  // 6. check
  CompilerCheck compiler;
  // 7.-8. module, verify
  ModuleResult module;

  BuildOutcome outcome = BuildOutcome::Failed;
};

// Runs the stages; sets and returns b.outcome. The prepared tree is restored to pristine
// whatever happens.
BuildOutcome run_build(Build &b);

// "include/linux/virtio_net.h: 14 units include it, 9 are in this kernel, 3 changed: tun.o,
// tap.o, virtio_net.o" (after the diff; before it, the changed list is empty).
std::string header_summary(const Build &b, const HeaderImpact &h);

// JSON at the edges (result_json.cc).
// The manifest embedded in the module (`kpatch-gen inspect` reads it): what it patches, for
// which kernel, from which patches.
nlohmann::json manifest_json(const Build &b);
// NAME.json: the manifest, the module's checksum, every unit with its diff report.
nlohmann::json module_report_json(const Build &b);
// The --json result on stdout: NAME.json without the diff reports, plus how the build went
// (result, errors, refusals, warnings, prepared tree, stage timings).
nlohmann::json build_result_json(const Build &b);

} // namespace kpg::build
