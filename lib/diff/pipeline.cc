// SPDX-License-Identifier: GPL-2.0-only
//
// The diff pipeline, readable in one place. Each step is a pass (passes.h); the checkpoints
// stop the run after a phase that reported problems, with every problem of that phase shown.
#include "diff/pipeline.h"

#include "diff/passes.h"
#include "elf/writer.h"
#include "support/file.h"

namespace kpg::diff {

static void write_report(const DiffContext &ctx, DiffResult &res, const char *result) {
  res.report = make_report(ctx, result);
  if (ctx.opt.report_path.empty())
    return;
  auto w = write_text_file_atomic(ctx.opt.report_path, res.report.dump(2) + "\n");
  if (!w)
    ctx.diag.error(w.error());
}

DiffResult run_diff(const Options &opt, Diag &diag) {
  DiffResult res;
  auto dec = disasm::Decoder::create_x86_64();
  if (!dec) {
    diag.error(dec.error(), code::INTERNAL);
    return res;
  }
  DiffContext ctx(opt, diag, *dec);
  auto stop = [&](const char *result, int code) {
    write_report(ctx, res, result);
    res.exit_code = code;
    return res;
  };

  if (auto l = load_inputs(ctx); !l) {
    diag.error(l.error(), code::INCOMPATIBLE_OBJECTS);
    ctx.refusals.push_back({code::INCOMPATIBLE_OBJECTS, l.error().loc, l.error().message});
    return stop("error", EXIT_ERROR);
  }
  validate_special_sections(ctx);
  if (diag.checkpoint())
    return stop("refused", EXIT_ERROR);

  correlate(ctx);
  compare(ctx);
  ignore_line_only_changes(ctx);
  classify(ctx);
  check_unsupported(ctx);
  if (diag.checkpoint())
    return stop("refused", EXIT_ERROR);

  include_closure(ctx);
  select_special_entries(ctx);
  if (diag.checkpoint())
    return stop("refused", EXIT_ERROR);
  if (ctx.incl.order.empty())
    return stop("no-change", EXIT_NO_CHANGE);

  plan_relocations(ctx);
  if (diag.checkpoint())
    return stop("refused", EXIT_ERROR);

  build_output(ctx);
  if (diag.checkpoint())
    return stop("refused", EXIT_ERROR);
  if (!opt.out_path.empty()) {
    if (auto w = elf::write_object(ctx.out, opt.out_path); !w) {
      diag.error(w.error(), code::INTERNAL);
      return stop("error", EXIT_ERROR);
    }
  }
  res.output = ctx.out_info;
  res.callbacks = ctx.callbacks;
  for (const Callback &cb : ctx.callbacks)
    res.callback_names.push_back(ctx.pv->name(cb.func));
  return stop("changed", EXIT_CHANGED);
}

} // namespace kpg::diff
