// SPDX-License-Identifier: GPL-2.0-only
//
// The stages of `kpatch-gen build` and the pipeline that runs them (build.h says what each
// stage does and the shape they share).
#include "builder/build.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <set>

#include "builder/compiler.h"
#include "builder/struct_defs.h"
#include "builder/namespaces.h"
#include "builder/original_cache.h"
#include "builder/process.h"
#include "builder/same_code.h"
#include "builder/verify.h"
#include "diff/klp_format.h"
#include "diff/special_sections.h"
#include "dwarf/dwarf.h"
#include "elf/reader.h"
#include "elf/sections.h"
#include "elf/writer.h"
#include "support/file.h"

namespace fs = std::filesystem;

namespace kpg::build {

const char *build_outcome_name(BuildOutcome o) {
  switch (o) {
  case BuildOutcome::Built: return "built";
  case BuildOutcome::NoChange: return "no-change";
  case BuildOutcome::NotBuilt: return "not-built";
  case BuildOutcome::CompileError: return "compile-error";
  case BuildOutcome::Refused: return "refused";
  case BuildOutcome::Failed: return "error";
  }
  return "?";
}

const char *unit_outcome_name(UnitOutcome o) {
  switch (o) {
  case UnitOutcome::Pending: return "pending";
  case UnitOutcome::NotBuilt: return "not-built";
  case UnitOutcome::CompileError: return "compile-error";
  case UnitOutcome::Changed: return "changed";
  case UnitOutcome::NoChange: return "no-change";
  case UnitOutcome::Refused: return "refused";
  case UnitOutcome::Failed: return "error";
  }
  return "?";
}

std::string header_summary(const Build &b, const HeaderImpact &h) {
  size_t in_kernel = 0;
  std::vector<std::string> changed;
  for (const UnitResult &u : b.units) {
    bool through = std::binary_search(h.objects.begin(), h.objects.end(), u.unit.object);
    if (!through || u.outcome == UnitOutcome::NotBuilt)
      continue;
    in_kernel++;
    if (u.outcome == UnitOutcome::Changed)
      changed.push_back(fs::path(u.unit.object).filename().string());
  }
  return fmt::format("{}: {} unit{} include{} it, {} {} in this kernel, {} changed{}{}", h.header, h.includers,
                     h.includers == 1 ? "" : "s", h.includers == 1 ? "s" : "", in_kernel, in_kernel == 1 ? "is" : "are",
                     changed.size(), changed.empty() ? "" : ": ", fmt::join(changed, ", "));
}

BuildOutcome build_outcome_of(const std::vector<UnitResult> &units) {
  bool failed = false, refused = false, changed = false, built = false;
  for (const UnitResult &u : units) {
    switch (u.outcome) {
    case UnitOutcome::CompileError: return BuildOutcome::CompileError;
    case UnitOutcome::Pending:
    case UnitOutcome::Failed: failed = true; break;
    case UnitOutcome::Refused: refused = true; break;
    case UnitOutcome::Changed: changed = true; break;
    case UnitOutcome::NoChange: break;
    case UnitOutcome::NotBuilt: continue;
    }
    built = true;
  }
  if (failed)
    return BuildOutcome::Failed;
  if (refused)
    return BuildOutcome::Refused;
  if (changed)
    return BuildOutcome::Built;
  return built || units.empty() ? BuildOutcome::NoChange : BuildOutcome::NotBuilt;
}

Build::Build(BuildRequest r) : req(std::move(r)), progress(req.quiet, 8) { diag.set_program("kpatch-gen build"); }

namespace {

std::string default_cache() {
  if (const char *c = std::getenv("KPATCH_GEN_CACHE"); c && *c)
    return c;
  const char *home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.cache/kpatch-gen";
}

// --debian-kernel: every input comes from the packages of one Debian kernel.
void provision_debian(Build &b) {
  std::string rel = *b.req.debian_release;
  if (rel.empty() || rel == "running") {
    auto d = default_debian_release();
    if (!b.diag.check(d))
      return;
    rel = *d;
  }
  auto k = provision_debian_kernel(rel, b.cache, b.progress);
  if (!b.diag.check(k))
    return;
  b.progress.note(fmt::format("Debian kernel {} ({}): packages {} in {:.1f} s", k->release, k->version,
                              k->downloaded ? "fetched and unpacked" : "found", k->provision_seconds));
  Target &t = b.target;
  if (t.kernel_src.empty())
    t.kernel_src = k->source_tree;
  if (t.vmlinux.empty())
    t.vmlinux = k->vmlinux;
  if (t.modules_dir.empty())
    t.modules_dir = k->modules_dir;
  if (t.debug_modules_dir.empty())
    t.debug_modules_dir = k->debug_modules_dir;
  if (t.config.empty())
    t.config = k->config;
  if (t.symvers_path.empty())
    t.symvers_path = k->symvers;
  t.debian = std::move(*k);
}

// 1. The patches, and the target kernel read once: release, build ID, config, Module.symvers,
// special-section entry sizes, a full build's dependency lists.
Step stage_inputs(Build &b) {
  const BuildRequest &r = b.req;
  Target &t = b.target;
  b.cache = r.cache.empty() ? default_cache() : r.cache;
  t.kernel_src = r.kernel_src;
  t.vmlinux = r.vmlinux;
  t.modules_dir = r.modules_dir;
  t.debug_modules_dir = r.debug_modules_dir;
  t.config = r.config;
  t.symvers_path = r.symvers;
  if (r.debian_release) {
    provision_debian(b);
    if (b.diag.checkpoint())
      return Step::next();
  }
  if (t.kernel_src.empty() || t.vmlinux.empty()) {
    b.diag.error(Location(), "give --kernel-src and --target-vmlinux, or --debian-kernel");
    return Step::next();
  }
  std::set<std::string> seen;
  for (const std::string &p : r.patches) {
    auto info = parse_patch(p);
    if (!b.diag.check(info))
      continue;
    for (const PatchedFile &f : info->files) {
      if (std::string why = unsupported_reason(f.path); !why.empty())
        b.diag.error(Location(p), fmt::format("{}: {}", f.path, why));
      if (seen.insert(f.path).second)
        b.files.push_back(f.path);
    }
    b.patches.push_back(std::move(*info));
  }
  std::string vmdir = fs::path(t.vmlinux).parent_path().string();
  if (vmdir.empty())
    vmdir = ".";
  if (t.config.empty())
    t.config = vmdir + "/.config";
  if (!fs::exists(t.config))
    b.diag.error(Location(t.config), "no kernel config: pass --config");
  else if (auto kc = KernelConfig::load(t.config); b.diag.check(kc))
    t.kconfig = std::move(*kc);
  if (t.symvers_path.empty())
    t.symvers_path = vmdir + "/Module.symvers";
  if (!fs::exists(t.symvers_path)) {
    b.diag.error(Location(t.symvers_path), "no Module.symvers of the target: pass --symvers");
  } else if (auto sv = diff::Symvers::load(t.symvers_path); b.diag.check(sv)) {
    t.symvers = std::move(*sv);
  }
  if (auto rel = kernel_release(t.vmlinux); b.diag.check(rel))
    t.release = *rel;
  if (auto bid = elf::read_build_id(t.vmlinux))
    t.build_id = *bid;
  else
    b.progress.note("note: the target vmlinux has no build ID; the module will not record one");
  std::string deps_dir = r.kernel_build;
  if (deps_dir.empty() && fs::exists(vmdir + "/vmlinux.o"))
    deps_dir = vmdir;
  if (!deps_dir.empty())
    if (auto d = BuildDeps::load_cached(deps_dir, b.cache + "/deps"); b.diag.check(d))
      t.deps = std::move(*d);
  // A wrong key or passphrase is found now, not after the compile.
  if (r.signer)
    if (auto s = r.signer->load(t.config); !s)
      b.diag.error(s.error());
  if (b.diag.checkpoint()) {
    b.diag.error(Location(), "cannot start because of the problems above");
    return Step::next();
  }
  std::string first = fs::path(r.patches[0]).stem().string();
  b.name = sanitize_module_name(!r.name.empty() ? r.name : "livepatch_" + first);
  b.outdir = r.outdir.empty() ? "." : r.outdir;
  b.jobs = r.jobs > 0 ? r.jobs : static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  b.progress.note(fmt::format("target {} (build ID {}), module {}", t.release,
                              t.build_id.empty() ? "none" : t.build_id, b.name));
  if (t.deps)
    b.progress.note(fmt::format("header dependencies from {} ({} objects{})", t.deps->dir(), t.deps->object_count(),
                                t.deps->from_cache() ? ", cached" : ""));
  if (auto sizes = dwarf::struct_sizes(t.vmlinux, diff::special_section_structs()))
    t.struct_sizes = std::move(*sizes);
  else
    b.progress.note("note: no DWARF struct sizes in the target (" + sizes.error().message +
                    "); the kernel line's built-in entry sizes are used");
  return Step::next();
}

// 2. The prepared tree (cached per source, config, compiler, release).
Step stage_tree(Build &b) {
  TreeInputs ti;
  ti.kernel_src = b.target.kernel_src;
  ti.config = b.target.config;
  ti.symvers = b.target.symvers_path;
  ti.cache_root = b.cache;
  ti.templates_dir = b.req.templates_dir;
  ti.release = b.target.release;
  ti.cc = compiler_from_config(b.target.config);
  ti.jobs = b.jobs;
  auto tree = PreparedTree::open(ti, b.progress);
  if (!b.diag.check(tree))
    return Step::next();
  b.tree = std::make_unique<PreparedTree>(std::move(*tree));
  b.progress.note((b.tree->was_cached() ? "cached: " : "prepared: ") + b.tree->dir());
  b.work = b.tree->dir() + "/work";
  std::error_code ec;
  fs::remove_all(b.work, ec);
  fs::create_directories(b.work + "/diff", ec);
  if (ec)
    b.diag.error(Location(b.work), "cannot create the work directory: " + ec.message());
  return Step::next();
}

// 3. Apply the patches to the hard-link copy; find the affected units.
// STRUCT_LAYOUT_CHANGED for every struct or union definition a changed header alters
// (builder/struct_defs.h), into b.refusals and b.diag.
void refuse_struct_layout_changes(Build &b) {
  for (const std::string &f : b.files) {
    if (!f.ends_with(".h"))
      continue;
    auto orig = read_text_file(b.target.kernel_src + "/" + f);
    auto patched = read_text_file(b.tree->patched_src() + "/" + f);
    if (!orig || !patched)
      continue; // a new or deleted header: no existing objects have its types
    for (const StructChange &c : changed_struct_definitions(*orig, *patched)) {
      Location loc = Location(f + ":" + std::to_string(c.line)).with_symbol(c.name);
      std::string msg = fmt::format(
          "the definition of {} changes: objects the running kernel already allocated keep the old layout, and "
          "patched code would access them with the new one (every unit including {} is compiled with it). "
          "Keep the type as it is and put new state in a shadow variable (klp_shadow_*); a change that "
          "keeps the layout (comments aside, the definitions are compared as text) must be written "
          "without touching the definition",
          c.name, f);
      b.diag.error(loc, msg, "STRUCT_LAYOUT_CHANGED");
      b.refusals.push_back(diff::Refusal{"STRUCT_LAYOUT_CHANGED", loc, msg});
    }
  }
}

Step stage_patch(Build &b) {
  std::vector<PatchedFile> all;
  for (const PatchInfo &p : b.patches)
    all.insert(all.end(), p.files.begin(), p.files.end());
  auto applied = b.tree->apply_patches(b.patches, b.files, b.req.fuzz);
  if (!b.diag.check(applied))
    return Step::next();
  b.moved_hunks = std::move(*applied);
  for (const HunkPlacement &h : b.moved_hunks)
    b.progress.note(fmt::format("{}: {}: hunk #{} applied at line {}{}{}", fs::path(h.patch).filename().string(), h.file,
                                h.hunk, h.line, h.offset ? fmt::format(" (offset {:+} lines)", h.offset) : "",
                                h.fuzz ? fmt::format(" with fuzz {}", h.fuzz) : ""));
  // A changed struct or union definition in a header is a layout change no unit's code shows
  // (struct_defs.h): refused now, before compiling every unit that includes the header.
  refuse_struct_layout_changes(b);
  if (!b.refusals.empty())
    return Step::next();
  // A changed header without a full build's lists: the include graph of the source tree
  // (scanned once per release, cached) and the configuration give the candidate units.
  std::optional<CachedGraph> graph;
  HeaderSource hs;
  bool header = std::any_of(all.begin(), all.end(), [](const PatchedFile &f) { return f.path.ends_with(".h"); });
  if (header && !b.target.deps) {
    auto g = load_include_graph(b.cache, b.target.kernel_src, b.tree->orig_obj(), b.target.release, b.progress);
    if (!b.diag.check(g))
      return Step::next();
    graph = std::move(*g);
    b.progress.note(fmt::format("include graph of {} files {} in {:.1f} s ({})", graph->graph.file_count(),
                                graph->cached ? "read from the cache" : "scanned", graph->seconds, graph->path));
    hs.graph = &graph->graph;
    hs.srctree = b.target.kernel_src;
    hs.config = &b.target.kconfig;
    hs.limit = b.req.max_header_units;
  }
  auto units = affected_units(all, b.target.deps ? &*b.target.deps : nullptr, hs.graph ? &hs : nullptr, &b.headers);
  for (const HeaderImpact &h : b.headers)
    if (!h.from_full_build)
      b.progress.note(fmt::format("{}: {} units include it, {} of them not built by this configuration; compiling "
                                  "the other {} to confirm",
                                  h.header, h.includers, h.not_built, h.candidates));
  if (!b.diag.check(units))
    return Step::next();
  if (units->empty()) {
    b.diag.error(Location(), "the patches change no translation unit of this kernel");
    return Step::next();
  }
  // Without a full build's dependency lists: a changed .c that kbuild never compiles alone
  // but another unit of its directory #includes (arch/x86/mm/ident_map.c in init_64.c) is
  // rebuilt through that unit. (With the lists, affected_units() already knows.)
  if (!b.target.deps) {
    std::vector<Unit> expanded;
    for (Unit &u : *units) {
      std::vector<Includer> inc;
      if (u.changed_by_patch())
        inc = including_units(b.target.kernel_src, u.source, b.target.kconfig);
      if (inc.empty()) {
        expanded.push_back(std::move(u));
        continue;
      }
      for (const Includer &i : inc) {
        if (std::any_of(expanded.begin(), expanded.end(), [&](const Unit &e) { return e.source == i.source; }))
          continue;
        Unit w = Unit::of(i.source, i.source.substr(0, i.source.size() - 2) + ".o",
                          fmt::format("{} is compiled as part of {}", u.source, i.source));
        w.part_of = u.source;
        w.part_rule = i.rule;
        expanded.push_back(std::move(w));
      }
    }
    *units = std::move(expanded);
  }
  size_t built = 0;
  for (Unit &u : *units) {
    if (!u.part_of.empty())
      b.progress.note(fmt::format("{} (from {})", u.why, u.part_rule));
    UnitResult r;
    r.unit = std::move(u);
    // Files this configuration does not compile (drivers/tty/n_gsm.c with CONFIG_N_GSM unset)
    // are not this kernel's concern; the rest of a multi-file patch is still built. A unit
    // that only includes a changed file is in a full build's lists: it is built. One that a
    // full build lacks for reasons the Makefiles do not show plainly keeps affected_units'
    // reason.
    if (r.unit.changed_by_patch())
      if (auto nb = not_built_reason(b.target.kernel_src, r.unit.source, b.target.kconfig))
        r.unit.not_built = fmt::format("{} is not set; {}", nb->option, nb->where);
    if (!r.unit.not_built.empty()) {
      r.outcome = UnitOutcome::NotBuilt;
      b.progress.note(fmt::format("{}: not built in this kernel ({}): this kernel is not affected", r.unit.source,
                                  r.unit.not_built));
    } else {
      built++;
    }
    b.units.push_back(std::move(r));
  }
  if (built == 0) {
    b.progress.result("none of the changed files is built in this kernel: it is not affected");
    return Step::finish(BuildOutcome::NotBuilt);
  }
  return Step::next();
}

// The warnings of the patched side's compile (every compile-patched*.log of this build: make's,
// the recorded commands', a directory build's) in what the patch touched: gcc's in the files
// it changes, objtool's in the units compiled for it. The rest of a log was there before the
// patch: a directory build (arch/x86/lib/) compiles every unit of the directory, and a
// header's warning shows for each unit that includes it.
static std::vector<CompileWarning> patch_warnings(const Build &b) {
  std::set<std::string> ours(b.files.begin(), b.files.end());
  for (const UnitResult &u : b.units)
    if (u.unit.not_built.empty())
      ours.insert(u.unit.object);
  std::vector<std::string> logs;
  std::error_code ec;
  for (const fs::directory_entry &e : fs::directory_iterator(b.work, ec)) {
    std::string n = e.path().filename().string();
    if (n.starts_with("compile-patched") && n.ends_with(".log"))
      logs.push_back(e.path().string());
  }
  std::sort(logs.begin(), logs.end());
  std::vector<CompileWarning> out;
  std::set<std::string> seen;
  for (const std::string &log : logs) {
    auto text = read_text_file(log);
    if (!text)
      continue; // the compile succeeded; a log it did not write is no warning
    for (CompileWarning &w : compile_warnings(*text, b.tree->patched_src()))
      if (ours.count(w.file) && seen.insert(w.str()).second)
        out.push_back(std::move(w));
  }
  return out;
}

// 4. Compile original and patched units; learn which object each belongs to.
Step stage_compile(Build &b) {
  std::vector<Unit> units;
  for (const UnitResult &u : b.units) {
    if (u.outcome != UnitOutcome::NotBuilt)
      b.progress.note(fmt::format("{}: {}", u.unit.object, u.unit.why));
    units.push_back(u.unit);
  }
  // The cache of compiled originals (original_cache.h), keyed with the assembler's version
  // too: gcc runs `as`, and the prepared tree's key has only the compiler's.
  std::optional<OriginalCache> cache;
  if (!b.req.original_cache) {
    // --no-original-cache: kbuild compiles every original now, whatever orig-obj holds (an
    // object the cache put there would otherwise look up to date to make).
    for (const Unit &u : units) {
      if (!u.not_built.empty())
        continue;
      fs::path o = fs::path(b.tree->orig_obj()) / u.object;
      std::error_code ec;
      fs::remove(o, ec);
      fs::remove(o.parent_path() / ("." + o.filename().string() + ".cmd"), ec);
    }
  } else {
    if (auto as = capture({"as", "--version"}))
      cache.emplace(OriginalCache::for_tree(b.cache + "/originals", *b.tree, b.tree->compiler() + "\n" + *as));
    else
      b.progress.note("note: cannot run 'as --version' (" + as.error().message + "): originals are not cached");
  }
  auto c = compile_units(*b.tree, units, b.jobs, b.work, b.progress, cache ? &*cache : nullptr); // skips units not built
  if (!b.diag.check(c))
    return Step::next();
  for (size_t i = 0; i < units.size(); i++) {
    b.units[i].unit = std::move(units[i]);
    // A candidate from the include graph that kbuild did not confirm (compile_units).
    if (!b.units[i].unit.not_built.empty() && b.units[i].outcome == UnitOutcome::Pending)
      b.units[i].outcome = UnitOutcome::NotBuilt;
  }
  if (const std::optional<CompileError> &e = *c) {
    // The original units compiled: the patch is at fault. The compiler's first error, with
    // file and line in the source tree, is what its author needs (not make's last lines).
    b.diag.error(Location(), fmt::format("the patched source does not compile: {}:{}:{}: {}\n{}  (whole log: {})",
                                         e->file, e->line, e->column, e->message, e->context, e->log));
    for (UnitResult &u : b.units)
      if (u.outcome == UnitOutcome::Pending && (e->object.empty() || e->object == u.unit.object))
        u.outcome = UnitOutcome::CompileError;
    b.compile_error = *e;
    return Step::next();
  }
  b.compile_warnings = patch_warnings(b);
  for (const CompileWarning &w : b.compile_warnings)
    b.diag.warn(Location(w.line ? fmt::format("{}:{}:{}", w.file, w.line, w.column) : w.file),
                "the patched source compiles with a warning: " + w.message);
  return Step::next();
}

// 5. Diff every unit against the running object it belongs to; every unit's refusals are
// shown before the build stops.
Step stage_diff(Build &b) {
  size_t n = 0;
  for (UnitResult &u : b.units) {
    if (u.outcome == UnitOutcome::NotBuilt)
      continue;
    auto obj = b.target.object(u.unit.objname, u.unit.module_file);
    if (!obj && !u.unit.confirm.empty() && u.unit.objname != "vmlinux") {
      // A candidate compiled into a module this kernel does not have: the Makefiles did not
      // say it is off (drivers/net/Makefile's obj-$(CONFIG_X) lists under ifeq blocks), the
      // missing module does.
      u.unit.not_built = fmt::format("this kernel has no module {}", u.unit.module_file);
      u.outcome = UnitOutcome::NotBuilt;
      b.progress.note(fmt::format("{}: {}", u.unit.object, u.unit.not_built));
      continue;
    }
    if (!b.diag.check(obj)) {
      u.outcome = UnitOutcome::Failed;
      continue;
    }
    if (!u.unit.confirm.empty() && (*obj)->symbols.has_file_symbols()) {
      // The same for vmlinux: kbuild's single-object rule compiles a file the config leaves
      // out as if built in, but the running vmlinux has no FILE symbol of it.
      std::string file = fs::path(u.unit.source).filename().string();
      const auto &blocks = (*obj)->symbols.blocks();
      if (std::none_of(blocks.begin(), blocks.end(), [&](const diff::FileBlock &fb) { return fb.file == file; })) {
        u.unit.not_built = fmt::format("{} has no FILE symbol {}: not in this kernel", u.unit.objname, file);
        u.outcome = UnitOutcome::NotBuilt;
        b.progress.note(fmt::format("{}: {}", u.unit.object, u.unit.not_built));
        continue;
      }
    }
    u.target = *obj;
    if (!u.target->note.empty())
      b.progress.note(fmt::format("{}: {}", u.unit.object, u.target->note));
    diff::Options o;
    o.orig_path = b.tree->orig_obj() + "/" + u.unit.object;
    o.patched_path = b.tree->patched_obj() + "/" + u.unit.object;
    o.out_path = fmt::format("{}/diff/kpg_d{}.o", b.work, n);
    o.objname = u.unit.objname;
    o.objtool_at_link = b.target.objtool_at_link();
    // A changed exported function is refused when its genksyms CRC changed (kbuild's
    // #SYMVER lines in the unit's .cmd files; none without exports or MODVERSIONS).
    auto crcs = unit_symver_crcs(b.tree->orig_obj(), b.tree->patched_obj(), u.unit.object);
    if (!b.diag.check(crcs)) {
      u.outcome = UnitOutcome::Failed;
      continue;
    }
    if (*crcs) {
      o.orig_crcs = std::move((*crcs)->first);
      o.patched_crcs = std::move((*crcs)->second);
    }
    u.diff = diff::run_diff(o, b.target.diff_view(*u.target));
    for (const Diagnostic &d : u.diff.diagnostics)
      b.diag.add(d);
    switch (u.diff.outcome) {
    case diff::DiffOutcome::Changed:
      u.outcome = UnitOutcome::Changed;
      u.diff_object = o.out_path;
      n++;
      for (const diff::PatchedFunction &f : u.diff.output.functions)
        b.progress.note(fmt::format("{}: patch {}{}", u.unit.object, f.old_name, f.sympos ? fmt::format(",{}", f.sympos) : ""));
      break;
    case diff::DiffOutcome::NoChange:
      u.outcome = UnitOutcome::NoChange;
      b.progress.note(u.unit.object + ": no functional change");
      break;
    case diff::DiffOutcome::Refused: u.outcome = UnitOutcome::Refused; break;
    case diff::DiffOutcome::Error: u.outcome = UnitOutcome::Failed; break;
    }
  }
  for (const HeaderImpact &h : b.headers)
    b.progress.note(header_summary(b, h));
  BuildOutcome so_far = build_outcome_of(b.units);
  if (so_far == BuildOutcome::Refused || so_far == BuildOutcome::Failed) {
    b.diag.error(Location(), "the patch cannot be live patched (reasons above; details in --json output)");
    return Step::next();
  }
  if (so_far == BuildOutcome::NoChange || so_far == BuildOutcome::NotBuilt) {
    b.progress.result("no functional change in the patches");
    return Step::finish(BuildOutcome::NoChange);
  }
  // One klp_object per running object: vmlinux first, then modules by name (the order of
  // the generated module's klp_objects).
  std::map<std::string, ModuleObject> objects;
  for (const UnitResult &u : b.units) {
    if (u.outcome != UnitOutcome::Changed)
      continue;
    ModuleObject &mo = objects[u.unit.objname];
    mo.name = u.unit.objname;
    for (const diff::PatchedFunction &f : u.diff.output.functions)
      mo.funcs.push_back(ModuleFunc{f.old_name, f.sympos, f.alias, u.unit.source});
    for (const diff::FoundCallback &cb : u.diff.callbacks) {
      if (mo.callbacks.count(cb.kind)) {
        b.diag.error(Location(u.unit.source),
                     fmt::format("a second {} callback for {}: livepatch runs one callback of each kind per object",
                                 diff::callback_kind_name(cb.kind), u.unit.objname),
                     diff::code::BAD_CALLBACK);
        continue;
      }
      mo.callbacks[cb.kind] = cb.alias;
    }
    b.module.spec.diff_objects.push_back(u.diff_object);
  }
  ModuleSpec &spec = b.module.spec;
  if (objects.count("vmlinux"))
    spec.objects.push_back(objects["vmlinux"]);
  for (auto &[name, o] : objects)
    if (name != "vmlinux")
      spec.objects.push_back(o);
  return Step::next();
}

// 6. The original objects must reproduce the target, compiled by the same compiler.
Step stage_check(Build &b) {
  CompilerCheck &cc = b.compiler;
  std::vector<std::string> problems;
  // The compiler: version from the target's .comment, flags from its DW_AT_producer.
  auto comment = elf::read_section_bytes(b.target.vmlinux, ".comment");
  cc.target = comment ? std::string(comment->begin(), std::find(comment->begin(), comment->end(), 0)) : "";
  cc.ours = b.tree->compiler();
  cc.done = true;
  if (!cc.target.empty() && compiler_identity(cc.target) != compiler_identity(cc.ours))
    cc.problems.push_back(fmt::format("the target was built by '{}', the objects would be built by '{}'", cc.target, cc.ours));
  std::vector<std::string> vmlinux_sources;
  for (const UnitResult &u : b.units)
    if (u.target && u.unit.objname == "vmlinux")
      vmlinux_sources.push_back(u.unit.source);
  std::vector<dwarf::CompileUnit> cus;
  if (!vmlinux_sources.empty()) {
    dwarf::CuOptions co;
    co.functions = true;
    co.only_names = vmlinux_sources;
    if (auto r = dwarf::compile_units(b.target.vmlinux, co))
      cus = std::move(*r);
    else
      b.progress.note("note: no DWARF in the target vmlinux (" + r.error().message +
                      "): objects are checked against its symbol table only, and compiler flags are not compared");
  }
  auto cu_of = [&](const std::string &src) -> const dwarf::CompileUnit * {
    for (const dwarf::CompileUnit &cu : cus)
      if (cu.name == src || cu.name.ends_with("/" + src))
        return &cu;
    return nullptr;
  };
  // A size difference is looked at instruction by instruction (builder/same_code.h): the
  // target's code is read only then, once per object (a Debian vmlinux's code is ~60 MB).
  SameCode same_code;
  auto report = [&](OriginalCheck c) {
    for (std::string &p : c.problems)
      problems.push_back(std::move(p));
    for (const std::string &t : c.tolerated)
      b.progress.note("size differs, same code: " + t);
  };
  for (const UnitResult &u : b.units) {
    if (!u.target)
      continue; // not built in this kernel: nothing to check
    const std::string &src = u.unit.source;
    std::string orig_path = b.tree->orig_obj() + "/" + u.unit.object;
    auto orig = elf::read_object(orig_path);
    if (!b.diag.check(orig))
      continue;
    const diff::TargetSymbols &target = u.target->symbols;
    if (const dwarf::CompileUnit *cu = u.unit.objname == "vmlinux" ? cu_of(src) : nullptr) {
      std::vector<DwarfFunction> fns;
      for (const dwarf::FunctionInfo &f : cu->functions)
        fns.push_back({f.name, f.size});
      report(verify_original_dwarf(*orig, fns, target, src, same_code.check_for(*orig, target)));
      dwarf::CuOptions mine_opts;
      mine_opts.only_names = {src};
      if (auto mine = dwarf::compile_units(orig_path, mine_opts); mine && !mine->empty()) {
        auto d = producer_differences(cu->producer, mine->front().producer);
        if (!d.empty())
          cc.problems.push_back(fmt::format("{}: compiler flags differ from the target's ({})", src, fmt::join(d, " ")));
      }
      continue;
    }
    report(verify_original(*orig, target, src, same_code.check_for(*orig, target)));
  }
  for (const std::string &p : cc.problems) {
    if (b.req.skip_compiler_check)
      b.diag.warn(Location(), p + " (ignored: --skip-compiler-check)");
    else
      problems.push_back(p + " (--skip-compiler-check to build anyway, at your own risk)");
  }
  for (const std::string &p : problems)
    b.diag.error(Location(), "the original objects do not match the target kernel: " + p);
  return Step::next();
}

// 7. Generate and link the module; turn its records into livepatch relocations.
Step stage_module(Build &b) {
  ModuleSpec &spec = b.module.spec;
  spec.name = b.name;
  spec.replace = b.req.replace;
  spec.description = b.req.description;
  for (const CveFixed &c : b.req.cves)
    spec.cves.push_back(c.id);
  spec.target_release = b.target.release;
  spec.target_build_id = b.target.build_id;
  std::vector<std::string> undefined;
  for (const UnitResult &u : b.units)
    if (u.outcome == UnitOutcome::Changed)
      undefined.insert(undefined.end(), u.diff.output.undefined.begin(), u.diff.output.undefined.end());
  spec.import_ns = imported_namespaces(undefined, b.target.symvers);
  if (!spec.import_ns.empty())
    b.progress.note(fmt::format("imports symbol namespace(s) {} (used by the patched code)",
                                fmt::join(spec.import_ns, ", ")));
  auto ko_path = build_module(*b.tree, spec, b.req.templates_dir, b.jobs, b.progress);
  if (!b.diag.check(ko_path))
    return Step::next();
  auto ko = elf::read_object(*ko_path);
  if (!b.diag.check(ko))
    return Step::next();
  auto pl = post_link(*ko, manifest_json(b).dump());
  if (!pl) {
    b.diag.error(pl.error().loc, "post-link: " + pl.error().message);
    return Step::next();
  }
  b.module.ko = std::move(*ko);
  b.module.klp_relocs = pl->klp_relocs;
  b.progress.note(fmt::format("{} livepatch relocation(s) in {} section(s), {} .klp.sym symbol(s)", pl->klp_relocs,
                              pl->klp_sections, pl->klp_symbols));
  if (pl->shadows_removed || pl->call_sites_removed)
    b.progress.note(fmt::format("{} shadow relocation(s) for objtool removed, {} .call_sites entr{} of calls through "
                                "livepatch relocations dropped",
                                pl->shadows_removed, pl->call_sites_removed, pl->call_sites_removed == 1 ? "y" : "ies"));
  // 6.1 does not clear module-specific livepatch relocations when the target module unloads
  // (upstream 6.3, "livepatch,x86: Clear relocation targets on a module removal"), and x86's
  // apply_relocate_add() refuses a non-zero target. The generated module clears them itself
  // from each module object's post_unpatch callback (templates/patch-module.c.in), so the
  // module can be unloaded and loaded again while the patch is loaded.
  return Step::next();
}

// 8. The module must fit the target; then NAME.ko and NAME.json are written.
Step stage_verify(Build &b) {
  VerifyInput vi{&*b.module.ko, b.target.vmlinux, &b.target.symvers};
  for (const std::string &p : verify_module(vi))
    b.diag.error(Location(), "the module does not fit the target kernel: " + p);
  if (b.diag.checkpoint())
    return Step::next();
  auto bytes = elf::write_object_to_memory(*b.module.ko);
  if (!b.diag.check(bytes))
    return Step::next();
  // Signing is the last change to the bytes: the signature covers all of them.
  if (b.req.signer) {
    auto sig = b.req.signer->sign(*bytes, b.name + ".ko");
    if (!b.diag.check(sig))
      return Step::next();
    b.module.signature = std::move(*sig);
    b.progress.note("signed: " + b.req.signer->describe());
  }
  std::error_code ec;
  fs::create_directories(b.outdir, ec);
  std::string ko = b.outdir + "/" + b.name + ".ko", json_path = b.outdir + "/" + b.name + ".json";
  b.module.sha256 = sha256_hex(*bytes);
  if (auto w = write_file_atomic(ko, *bytes); !b.diag.check(w))
    return Step::next();
  b.module.ko_path = ko;
  if (auto w = write_text_file_atomic(json_path, module_report_json(b).dump(2) + "\n"); !b.diag.check(w))
    return Step::next();
  b.module.json_path = json_path;
  b.progress.result(fmt::format("wrote {} (sha256 {}) and {}", ko, b.module.sha256, json_path));
  return Step::next();
}

// The pipeline: each stage with the detail of its progress line.
struct Stage {
  const char *name;
  Step (*run)(Build &);
  std::string (*detail)(const Build &);
};

const Stage kStages[] = {
    {"inputs", stage_inputs, [](const Build &b) { return fmt::format("{} patch(es)", b.req.patches.size()); }},
    {"tree", stage_tree, [](const Build &b) { return "prepared original tree for " + b.target.kernel_src; }},
    {"patch", stage_patch, [](const Build &b) { return fmt::format("{} file(s)", b.files.size()); }},
    {"compile", stage_compile,
     [](const Build &b) {
       auto built = std::count_if(b.units.begin(), b.units.end(),
                                  [](const UnitResult &u) { return u.outcome != UnitOutcome::NotBuilt; });
       return fmt::format("{} unit(s), original and patched", built);
     }},
    {"diff", stage_diff, [](const Build &b) { return fmt::format("{} unit(s)", b.units.size()); }},
    {"check", stage_check, [](const Build &) { return std::string("compiler and original objects against the target kernel"); }},
    {"module", stage_module, [](const Build &b) { return "generate and link " + b.name + ".ko"; }},
    {"verify", stage_verify,
     [](const Build &b) {
       return std::string(b.req.signer ? "vermagic, CRCs, undefined symbols; sign" : "vermagic, CRCs, undefined symbols");
     }},
};

} // namespace

BuildOutcome run_build(Build &b) {
  std::optional<BuildOutcome> end;
  for (const Stage &s : kStages) {
    b.progress.stage(s.name, s.detail(b));
    Step step = s.run(b);
    if (b.diag.checkpoint()) {
      BuildOutcome units = build_outcome_of(b.units);
      end = units == BuildOutcome::Refused || units == BuildOutcome::CompileError ? units : BuildOutcome::Failed;
      if (!b.refusals.empty())
        end = BuildOutcome::Refused;
      break;
    }
    if (step.done) {
      end = step.done;
      break;
    }
  }
  if (b.tree)
    (void)b.tree->restore(); // the hard-link copy goes back to pristine, whatever happened
  b.progress.finish();
  b.outcome = end.value_or(BuildOutcome::Built);
  return b.outcome;
}

} // namespace kpg::build
