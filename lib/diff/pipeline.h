// SPDX-License-Identifier: GPL-2.0-only
//
// `kpatch-gen diff` as a library call: the pipeline of passes (pipeline.cc) and its typed
// result. Callers branch on the result's fields; `report` is the same facts as a JSON document
// for writing out (--report, the builder's NAME.json), never to be read back.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "diff/context.h"

namespace kpg::diff {

// How a diff ended (the report's "result").
enum class DiffOutcome : u8 {
  Changed,  // changes found; Options::out_path written
  NoChange, // no functional change (e.g. only __LINE__ values moved); nothing written
  Refused,  // the change cannot be live patched: DiffResult::refusals say why
  Error,    // the inputs could not be read or compared, or the output not written
};
// "changed", "no-change", "refused", "error".
const char *diff_outcome_name(DiffOutcome o);

// A symbol of the patched object that differs from its twin.
struct ChangedSymbol {
  std::string name;
  std::string section;                      // the function's section (functions only)
  SymRole role = SymRole::Function;         // Function, ColdPart or Object
  std::shared_ptr<const Difference> reason; // the first difference (null: none recorded)
  std::optional<PatchedFunction> patched;   // how the module patches it (changed functions, once output is built)
};

// A function or object of the patched object without a twin in the original.
struct NewSymbol {
  std::string name;
  bool object = false;   // a data object (else a function)
  bool included = false; // copied into the output (else not referenced by changed code)
};

// A function whose only differences are __LINE__ values: not changed for the live patch.
struct LineOnlyChange {
  std::string name;
  std::vector<std::string> lines; // "+0x6: 22 -> 26", "+0x10: __bug_table line 212 -> 214"
};

// A callback declared in the patched source, and the alias the module's klp_object uses.
struct FoundCallback {
  CallbackKind kind = CallbackKind::PrePatch;
  std::string function, alias;
};

struct DiffResult {
  DiffOutcome outcome = DiffOutcome::Error;
  std::vector<ChangedSymbol> changed;
  std::vector<NewSymbol> added;
  std::vector<LineOnlyChange> line_only;
  std::vector<Refusal> refusals;
  // Every error (refusals included), warning and note of the run, in order. Nothing was
  // printed: the caller prints them (Diag::add).
  std::vector<Diagnostic> diagnostics;
  // What the module generator needs: functions to patch, livepatch relocation records,
  // undefined symbols (outcome Changed).
  OutputInfo output;
  std::vector<FoundCallback> callbacks;
  // The kpatch-gen-diff-report/1 document of all of the above and every decision behind it.
  nlohmann::json report;
};

// Runs every pass; writes Options::out_path (atomically) on success and the JSON report when
// Options::report_path is set (also on refusal, so CI can show why). `target` gives the parts
// of the running kernel the caller has loaded; the rest come from Options' paths, if any.
DiffResult run_diff(const Options &opt, const TargetKernel &target = {});

// "first differing instruction at +0x12", "inlined callee X changed", or the detail.
std::string difference_summary(const Difference &d);

// The typed lists of a finished (or stopped) context (report.cc).
void collect_changes(const DiffContext &ctx, DiffResult &result);
// The JSON report of a finished (or stopped) context and its result.
nlohmann::json make_report(const DiffContext &ctx, const DiffResult &result);

} // namespace kpg::diff
