// SPDX-License-Identifier: GPL-2.0-only
//
// The builder's JSON, made from the typed Build at the edges only: the manifest inside the
// module, NAME.json next to it, and the --json result. Scripts read these keys (the e2e tests,
// bench/, ci/lab): keep them.
#include <algorithm>
#include <filesystem>

#include "builder/build.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace kpg::build {

static json unit_json(const UnitResult &u) {
  json j = {{"source", u.unit.source},
            {"object", u.unit.object},
            {"objname", u.unit.objname},
            {"why", u.unit.why},
            {"result", unit_outcome_name(u.outcome)},
            {"target", u.target ? json(u.target->path) : json(nullptr)}};
  // A module whose symbols were read from its unstripped copy: the .ko the kernel loads.
  if (u.target && !u.target->shipped.empty() && u.target->shipped != u.target->path)
    j["shipped"] = u.target->shipped;
  if (!u.unit.part_of.empty())
    j["part_of"] = {{"file", u.unit.part_of}, {"rule", u.unit.part_rule}};
  if (u.outcome == UnitOutcome::NotBuilt) {
    j["code"] = "NOT_BUILT";
    j["reason"] = u.unit.not_built; // "CONFIG_N_GSM is not set; drivers/tty/Makefile: ..."
  }
  return j;
}

json manifest_json(const Build &b) {
  const ModuleSpec &spec = b.module.spec;
  json objs = json::array();
  for (const ModuleObject &o : spec.objects) {
    json funcs = json::array();
    for (const ModuleFunc &f : o.funcs)
      funcs.push_back({{"name", f.old_name}, {"sympos", f.sympos}, {"unit", f.unit}});
    json cbs = json::array();
    for (const auto &[kind, alias] : o.callbacks)
      cbs.push_back(diff::callback_kind_name(kind));
    objs.push_back({{"name", o.name}, {"functions", funcs}, {"callbacks", cbs}});
  }
  json patches = json::array();
  for (const PatchInfo &p : b.patches)
    patches.push_back(fs::path(p.file).filename().string());
  return {{"format", "kpatch-gen-module/1"},
          {"name", spec.name},
          {"replace", spec.replace},
          {"description", spec.description},
          {"cves", spec.cves},
          {"target", {{"release", b.target.release}, {"build_id", b.target.build_id}}},
          {"objects", objs},
          {"patches", patches}};
}

static json compiler_json(const CompilerCheck &c) {
  return {{"target", c.target}, {"ours", c.ours}, {"problems", c.problems}};
}

static json debian_json(const DebianKernel &k) {
  return {{"release", k.release},       {"version", k.version},   {"vmlinux", k.vmlinux},
          {"vmlinuz", k.vmlinuz},       {"modules", k.modules_dir}, {"source", k.source_tree},
          {"provision_seconds", k.provision_seconds}, {"downloaded", k.downloaded}};
}

// The hunks patch(1) did not apply exactly where their header says.
static json moved_hunks_json(const Build &b) {
  json a = json::array();
  for (const HunkPlacement &h : b.moved_hunks)
    a.push_back({{"patch", fs::path(h.patch).filename().string()},
                 {"file", h.file},
                 {"hunk", h.hunk},
                 {"header", h.header},
                 {"line", h.line},
                 {"offset", h.offset},
                 {"fuzz", h.fuzz}});
  return a;
}

// The patched compile's warnings (Build::compile_warnings); line and column 0 for objtool's.
static json compile_warnings_json(const Build &b) {
  json out = json::array();
  for (const CompileWarning &w : b.compile_warnings)
    out.push_back({{"file", w.file}, {"line", w.line}, {"column", w.column}, {"message", w.message}});
  return out;
}

json module_report_json(const Build &b) {
  json full = manifest_json(b);
  full["moved_hunks"] = moved_hunks_json(b);
  full["module"] = b.name + ".ko";
  full["sha256"] = b.module.sha256;
  json cvss = json::object(); // {"CVE-...": {"score": "7.8", "severity": "HIGH"}}
  for (const CveFixed &c : b.req.cves)
    if (!c.score.empty())
      cvss[c.id] = {{"score", c.score}, {"severity", c.severity}};
  full["cvss"] = std::move(cvss);
  json units = json::array(), reports = json::object();
  for (const UnitResult &u : b.units) {
    units.push_back(unit_json(u));
    if (!u.diff.report.is_null())
      reports[u.unit.source] = u.diff.report;
  }
  full["units"] = std::move(units);
  full["compile_warnings"] = compile_warnings_json(b);
  full["reports"] = std::move(reports);
  full["klp_relocations"] = b.module.klp_relocs;
  full["import_ns"] = b.module.spec.import_ns;
  full["compiler"] = compiler_json(b.compiler);
  full["signature"] = b.module.signature;
  if (b.target.debian)
    full["debian"] = debian_json(*b.target.debian);
  return full;
}

json build_result_json(const Build &b) {
  json r = json::object();
  if (b.outcome == BuildOutcome::Built) {
    // Everything NAME.json says except the diff reports (they are in NAME.json; --json stays
    // readable).
    json full = module_report_json(b);
    for (auto &[k, v] : full.items())
      if (k != "reports" && k != "format")
        r[k] = v;
    r["output"] = {{"module", b.module.ko_path}, {"report", b.module.json_path}};
  }
  r["format"] = "kpatch-gen-build-result/1";
  r["result"] = build_outcome_name(b.outcome);
  // "location: message [CODE]", without the severity the key already says.
  auto text = [](const Diagnostic &d) {
    std::string l = d.loc.str();
    return (l.empty() ? "" : l + ": ") + d.message + (d.code.empty() ? "" : " [" + d.code + "]");
  };
  std::string errors;
  json warnings = json::array();
  for (const Diagnostic &d : b.diag.all()) {
    if (d.severity == Severity::Error)
      errors += (errors.empty() ? "" : "\n") + text(d);
    else if (d.severity == Severity::Warning)
      warnings.push_back(text(d));
  }
  if (!errors.empty())
    r["error"] = errors;
  r["warnings"] = std::move(warnings);
  if (b.target.debian)
    r["debian"] = debian_json(*b.target.debian);
  r["moved_hunks"] = moved_hunks_json(b);
  r["compile_warnings"] = compile_warnings_json(b);
  if (b.tree)
    r["prepared_tree"] = {{"dir", b.tree->dir()},
                          {"cached", b.tree->was_cached()},
                          {"kernel_src", b.tree->kernel_src()},
                          {"make_vars", b.tree->make_vars()}};
  if (b.target.deps)
    r["build_deps"] = {{"dir", b.target.deps->dir()},
                       {"objects", b.target.deps->object_count()},
                       {"cached", b.target.deps->from_cache()}};
  json refusals = json::array();
  for (const diff::Refusal &f : b.refusals)
    refusals.push_back({{"unit", f.loc.file}, {"code", f.code}, {"message", f.message}});
  if (!refusals.empty())
    r["refusals"] = refusals;
  if (!b.units.empty()) {
    json units = json::array();
    for (const UnitResult &u : b.units) {
      units.push_back(unit_json(u));
      // Only here, not in NAME.json: the module's report is the same whichever way the
      // original was obtained.
      if (u.outcome != UnitOutcome::NotBuilt) {
        units.back()["original"] = u.unit.original_cached ? "cache" : "kbuild";
        units.back()["patched"] = u.unit.patched_by_recorded_command ? "recorded command" : "kbuild";
      }
      for (const diff::Refusal &f : u.diff.refusals)
        refusals.push_back({{"unit", u.unit.source}, {"code", f.code}, {"message", f.message}});
    }
    r["units"] = std::move(units);
    if (!refusals.empty())
      r["refusals"] = std::move(refusals);
  }
  if (!b.headers.empty()) {
    // What each changed header brought in (the JSON form of header_summary).
    json hs = json::array();
    for (const HeaderImpact &h : b.headers) {
      json in_kernel = json::array(), changed = json::array();
      for (const UnitResult &u : b.units) {
        bool through = std::binary_search(h.objects.begin(), h.objects.end(), u.unit.object);
        if (!through || u.outcome == UnitOutcome::NotBuilt)
          continue;
        in_kernel.push_back(u.unit.object);
        if (u.outcome == UnitOutcome::Changed)
          changed.push_back(u.unit.object);
      }
      hs.push_back({{"header", h.header},
                    {"source", h.from_full_build ? "full-build" : "include-graph"},
                    {"includers", h.includers},
                    {"not_built_by_config", h.not_built},
                    {"candidates", h.candidates},
                    {"in_kernel", std::move(in_kernel)},
                    {"changed", std::move(changed)},
                    {"summary", header_summary(b, h)}});
    }
    r["headers"] = std::move(hs);
  }
  if (const std::optional<CompileError> &e = b.compile_error)
    r["compile_error"] = {{"object", e->object}, {"file", e->file},       {"line", e->line},
                          {"column", e->column}, {"message", e->message}, {"log", e->log}};
  if (b.compiler.done)
    r["compiler"] = compiler_json(b.compiler);
  json t = json::object();
  for (const auto &[n, s] : b.progress.timings())
    t[n] = s;
  r["timings"] = std::move(t);
  r["total_seconds"] = b.progress.total_seconds();
  return r;
}

} // namespace kpg::build
