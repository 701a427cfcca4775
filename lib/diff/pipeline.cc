// SPDX-License-Identifier: GPL-2.0-only
//
// The diff pipeline, readable in one place. Each step is a pass (passes.h); the checkpoints
// stop the run after a phase that reported problems, with every problem of that phase shown.
#include "diff/pipeline.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "diff/passes.h"
#include "elf/writer.h"
#include "support/file.h"

namespace kpg::diff {

// KPG_DIFF_TIMING=1 prints the wall time of each pass to stderr (bench/diff, profiling).
class PassTimer {
public:
  PassTimer() : on_(std::getenv("KPG_DIFF_TIMING") != nullptr), last_(std::chrono::steady_clock::now()) {}
  void lap(const char *pass) {
    if (!on_)
      return;
    auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "kpatch-gen diff: %-24s %8.2f ms  %s\n", pass,
                 std::chrono::duration<double, std::milli>(now - last_).count(), rss().c_str());
    last_ = now;
  }

private:
  // Resident memory now, split as the kernel counts it (/proc/self/status): heap and other
  // anonymous pages, and pages of mapped files (the inputs while they are mapped, the
  // program's own code). Peak RSS, what bench/diff reports, is the largest sum.
  static std::string rss() {
    std::string out;
    if (FILE *f = std::fopen("/proc/self/status", "r")) {
      char line[256];
      while (std::fgets(line, sizeof line, f)) {
        unsigned long kb;
        char key[32];
        if (std::sscanf(line, "%31[^:]: %lu kB", key, &kb) == 2 &&
            (!std::strcmp(key, "RssAnon") || !std::strcmp(key, "RssFile") || !std::strcmp(key, "VmHWM")))
          out += std::string(key[0] == 'V' ? "peak" : key + 3) + " " + std::to_string(kb / 1024) + " MB ";
      }
      std::fclose(f);
    }
    return out;
  }
  bool on_;
  std::chrono::steady_clock::time_point last_;
};

const char *diff_outcome_name(DiffOutcome o) {
  switch (o) {
  case DiffOutcome::Changed: return "changed";
  case DiffOutcome::NoChange: return "no-change";
  case DiffOutcome::Refused: return "refused";
  case DiffOutcome::Error: return "error";
  }
  return "?";
}

// The end of a run, wherever it stops: the typed result, the report (also written to
// Options::report_path), and every diagnostic for the caller to print.
static DiffResult finish(DiffContext &ctx, DiffOutcome outcome) {
  DiffResult res;
  res.outcome = outcome;
  collect_changes(ctx, res);
  res.report = make_report(ctx, res);
  if (!ctx.opt.report_path.empty()) {
    if (auto w = write_text_file_atomic(ctx.opt.report_path, res.report.dump(2) + "\n"); !w) {
      ctx.diag.error(w.error(), code::INTERNAL);
      res.outcome = DiffOutcome::Error;
    }
  }
  res.diagnostics = ctx.diag.all();
  return res;
}

DiffResult run_diff(const Options &opt, const TargetKernel &target) {
  PassTimer timer;
  auto dec = disasm::Decoder::create_x86_64();
  timer.lap("decoder");
  if (!dec) {
    DiffResult res;
    Diag d(nullptr);
    d.error(dec.error(), code::INTERNAL);
    res.diagnostics = d.all();
    return res;
  }
  DiffContext ctx(opt, target, *dec);
  Diag &diag = ctx.diag;
  auto stop = [&](DiffOutcome outcome) {
    timer.lap("(until stop)");
    DiffResult res = finish(ctx, outcome);
    timer.lap("report");
    return res;
  };

  if (auto l = load_inputs(ctx); !l) {
    diag.error(l.error(), code::INCOMPATIBLE_OBJECTS);
    ctx.refusals.push_back({code::INCOMPATIBLE_OBJECTS, l.error().loc, l.error().message});
    return stop(DiffOutcome::Error);
  }
  timer.lap("load_inputs");
  validate_special_sections(ctx);
  timer.lap("validate_special");
  if (diag.checkpoint())
    return stop(DiffOutcome::Refused);

  correlate(ctx);
  timer.lap("correlate");
  compare(ctx);
  timer.lap("compare");
  ignore_line_only_changes(ctx);
  timer.lap("line_only");
  classify(ctx);
  ctx.release_debug_info(); // the last pass that reads DWARF
  timer.lap("classify");
  apply_author_markers(ctx);
  timer.lap("author_markers");
  patch_notrace_callers(ctx);
  timer.lap("notrace_callers");
  check_unsupported(ctx);
  timer.lap("check_unsupported");
  check_exports(ctx);
  check_btf_ids(ctx);
  timer.lap("check_exports_btf_ids");
  if (diag.checkpoint())
    return stop(DiffOutcome::Refused);

  include_closure(ctx);
  timer.lap("include_closure");
  select_special_entries(ctx);
  timer.lap("select_special");
  if (diag.checkpoint())
    return stop(DiffOutcome::Refused);
  if (ctx.incl.order.empty())
    return stop(DiffOutcome::NoChange);

  plan_relocations(ctx);
  timer.lap("plan_relocations");
  if (diag.checkpoint())
    return stop(DiffOutcome::Refused);

  build_output(ctx);
  timer.lap("build_output");
  if (diag.checkpoint())
    return stop(DiffOutcome::Refused);
  if (!opt.out_path.empty()) {
    if (auto w = elf::write_object(ctx.out, opt.out_path); !w) {
      diag.error(w.error(), code::INTERNAL);
      return stop(DiffOutcome::Error);
    }
  }
  timer.lap("write_object");
  return stop(DiffOutcome::Changed);
}

} // namespace kpg::diff
