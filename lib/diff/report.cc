// SPDX-License-Identifier: GPL-2.0-only
//
// The JSON report: every decision the diff made, with its reason, so that "why is this in my
// patch?" and "why was this refused?" have answers without reading the tool's source (the
// question kpatch users ask most, e.g. kpatch issue #1399 "how does inclusion work at all").
#include <fmt/format.h>

#include "diff/pipeline.h"

namespace kpg::diff {

using nlohmann::json;

static json location_json(const Location &l) {
  json j = {{"file", l.file}};
  if (!l.section.empty())
    j["section"] = l.section;
  if (l.offset)
    j["offset"] = *l.offset;
  if (!l.symbol.empty())
    j["symbol"] = l.symbol;
  if (l.sym_offset)
    j["symbol_offset"] = *l.sym_offset;
  j["text"] = l.str();
  return j;
}

std::string difference_summary(const Difference &d) {
  if (!d.inlined_callee.empty())
    return fmt::format("inlined callee {} changed", d.inlined_callee);
  if (d.kind == DifferenceKind::Instruction || d.kind == DifferenceKind::Relocation ||
      d.kind == DifferenceKind::Immediate)
    return fmt::format("first differing instruction at +0x{:x}", d.offset);
  return d.detail;
}

static json difference_json(const Difference &d) {
  json j = {{"kind", difference_kind_name(d.kind)}, {"offset", d.offset}, {"detail", d.detail}};
  if (!d.orig.empty())
    j["orig"] = d.orig;
  if (!d.patched.empty())
    j["patched"] = d.patched;
  if (!d.inlined_callee.empty()) {
    j["inlined_callee"] = d.inlined_callee;
    j["inlined_at"] = d.inlined_at;
  }
  j["summary"] = difference_summary(d);
  return j;
}

void collect_changes(const DiffContext &ctx, DiffResult &res) {
  res.refusals = ctx.refusals;
  res.output = ctx.out_info;
  for (const Callback &cb : ctx.callbacks)
    res.callbacks.push_back(FoundCallback{cb.kind, ctx.pv ? ctx.pv->name(cb.func) : "", cb.alias});
  if (!ctx.pv)
    return;
  const ObjectView &pv = *ctx.pv;
  for (SymbolId p : pv.obj().symbols.ids()) {
    auto c = ctx.changes.patched.get(p);
    if (!c)
      continue;
    const elf::Symbol &s = pv.sym(p);
    const SymFacts &facts = pv.facts(p);
    if (!c->line_only.empty() && c->status == Status::Same)
      res.line_only.push_back(LineOnlyChange{s.name, c->line_only});
    if (c->status == Status::Changed) {
      ChangedSymbol cs;
      cs.name = s.name;
      cs.role = facts.role == SymRole::Function ? SymRole::Function
                : facts.role == SymRole::Object ? SymRole::Object
                                                : SymRole::ColdPart;
      if (cs.role == SymRole::Function)
        cs.section = pv.sec(*s.section).name;
      cs.reason = c->diff;
      for (const PatchedFunction &pf : ctx.out_info.functions)
        if (pf.sym == p)
          cs.patched = pf;
      res.changed.push_back(std::move(cs));
    } else if (c->status == Status::New && !facts.fresh_static) {
      res.added.push_back(NewSymbol{s.name, facts.role == SymRole::Object, ctx.incl.has(p)});
    }
  }
}

json make_report(const DiffContext &ctx, const DiffResult &res) {
  json r;
  r["format"] = "kpatch-gen-diff-report/1";
  r["orig"] = ctx.opt.orig_path;
  r["patched"] = ctx.opt.patched_path;
  r["output"] = res.outcome == DiffOutcome::Changed ? json(ctx.opt.out_path) : json(nullptr);
  r["objname"] = ctx.opt.objname;
  r["kernel_line"] = {{"line", kernel_line_name(ctx.line)}, {"why", ctx.line_why}};
  r["target"] = ctx.target ? json(ctx.target->path()) : json(nullptr);
  r["symvers"] = ctx.symvers ? json(ctx.symvers->path()) : json(nullptr);
  r["result"] = diff_outcome_name(res.outcome);

  json changed = json::array(), added = json::array(), line_only = json::array(), included = json::array();
  for (const ChangedSymbol &c : res.changed) {
    json f = {{"name", c.name}};
    if (c.role == SymRole::Function)
      f["section"] = c.section;
    else
      f["type"] = c.role == SymRole::Object ? "object" : "cold part";
    if (c.reason)
      f["reason"] = difference_json(*c.reason);
    if (c.patched) {
      f["old_name"] = c.patched->old_name;
      f["sympos"] = c.patched->sympos;
      f["alias"] = c.patched->alias;
    }
    changed.push_back(std::move(f));
  }
  for (const NewSymbol &n : res.added) {
    json f = {{"name", n.name}, {"type", n.object ? "object" : "function"}, {"included", n.included}};
    if (!n.included)
      f["why_not_included"] = "not referenced by changed code (dead in the patch)";
    added.push_back(std::move(f));
  }
  for (const LineOnlyChange &l : res.line_only)
    line_only.push_back({{"name", l.name}, {"detail", fmt::format("only __LINE__ values differ ({})", fmt::join(l.lines, ", "))}});
  if (ctx.pv) {
    const ObjectView &pv = *ctx.pv;
    for (SymbolId s : ctx.incl.order) {
      const IncludeReason &why = *ctx.incl.symbols.get(s);
      included.push_back({{"symbol", pv.name(s)}, {"kind", include_kind_name(why.kind)}, {"why", why.why}});
    }
    for (SectionId s : ctx.incl.section_order) {
      const IncludeReason &why = *ctx.incl.sections.get(s);
      included.push_back({{"section", pv.sec(s).name}, {"kind", include_kind_name(why.kind)}, {"why", why.why}});
    }
    for (const IncludedChunk &c : ctx.incl.chunks)
      included.push_back({{"section", pv.sec(c.sec).name},
                          {"range", fmt::format("0x{:x}-0x{:x}", c.start, c.end)},
                          {"kind", include_kind_name(IncludeKind::OutOfLineCode)},
                          {"why", c.why}});
  }
  r["changed"] = std::move(changed);
  r["new"] = std::move(added);
  // Functions and objects of the original without a twin: gcc stopped cloning (foo.isra.0 is
  // gone, the callers now call foo), a function was deleted or renamed. They stay in the
  // running kernel; the patched code just no longer refers to them. Fresh statics (and
  // read-only static locals) are never correlated, so "no twin" says nothing about them.
  json removed = json::array();
  if (ctx.ov)
    for (SymbolId o : ctx.changes.removed) {
      SymRole role = ctx.ov->facts(o).role;
      if (ctx.ov->facts(o).fresh_static)
        continue;
      if (role == SymRole::Function || role == SymRole::Object)
        removed.push_back({{"name", ctx.ov->name(o)}, {"type", role == SymRole::Object ? "object" : "function"}});
    }
  r["removed"] = std::move(removed);
  r["line_only"] = std::move(line_only);
  r["included"] = std::move(included);

  json special = json::array();
  for (const SpecialSelection &sel : ctx.special) {
    const EntrySize &es = ctx.entry_sizes.at(sel.spec->name);
    json j = {{"section", sel.spec->name}, {"entry_size", sel.entsize}, {"size_source", size_source_name(es.source)},
              {"entries", sel.total}, {"kept", sel.kept.size()}, {"policy", sel.spec->why}};
    if (!sel.note.empty())
      j["note"] = sel.note;
    special.push_back(std::move(j));
  }
  r["special_sections"] = std::move(special);

  json klp = json::array();
  for (const KlpRelocRecord &k : ctx.out_info.klp_relocs)
    klp.push_back({{"section", k.section},
                   {"offset", k.offset},
                   {"type", elf::x86_64_reloc_name(k.type)},
                   {"symbol", k.symbol},
                   {"object", k.objname},
                   {"sympos", k.sympos},
                   {"addend", k.addend},
                   {"why", k.why}});
  json normal = json::array();
  if (ctx.pv)
    for (SymbolId s : ctx.pv->obj().symbols.ids())
      if (auto e = ctx.plan.external.get(s); e && e->kind == RefKind::Normal)
        normal.push_back({{"symbol", e->name}, {"why", e->why}});
  r["relocations"] = {{"klp", std::move(klp)}, {"normal", std::move(normal)}};

  json fptr = json::array();
  if (ctx.pv)
    for (SymbolId s : ctx.pv->obj().symbols.ids())
      if (auto e = ctx.plan.original_of.get(s))
        fptr.push_back({{"function", ctx.pv->name(s)}, {"why", e->why}});
  r["function_pointers"] = std::move(fptr);

  // Changed functions without ftrace entry whose callers are patched instead (notrace.cc).
  json notrace = json::array();
  if (ctx.pv)
    for (const NotraceRedirect &n : ctx.notrace.redirects) {
      json callers = json::array(), copies = json::array();
      for (SymbolId s : n.callers)
        callers.push_back(ctx.pv->name(s));
      for (SymbolId s : n.copies)
        copies.push_back(ctx.pv->name(s));
      notrace.push_back({{"function", ctx.pv->name(n.func)}, {"callers", callers}, {"copies", copies}, {"why", n.why}});
    }
  r["notrace_callers"] = std::move(notrace);

  json cbs = json::array();
  for (const FoundCallback &cb : res.callbacks)
    cbs.push_back({{"kind", callback_kind_name(cb.kind)}, {"function", cb.function}, {"alias", cb.alias}});
  r["callbacks"] = std::move(cbs);

  json refusals = json::array();
  for (const Refusal &f : res.refusals)
    refusals.push_back({{"code", f.code}, {"location", location_json(f.loc)}, {"message", f.message}});
  r["refusals"] = std::move(refusals);

  json warnings = json::array();
  for (const Diagnostic &d : ctx.diag.all())
    if (d.severity == Severity::Warning)
      warnings.push_back(d.str());
  r["warnings"] = std::move(warnings);
  json notes = ctx.notes;
  for (const std::string &n : ctx.corr.notes)
    notes.push_back(n);
  r["notes"] = std::move(notes);

  r["summary"] = {{"changed_functions", ctx.out_info.functions.size()},
                  {"included_symbols", ctx.incl.order.size()},
                  {"klp_relocations", ctx.out_info.klp_relocs.size()},
                  {"line_only", r["line_only"].size()},
                  {"refusals", ctx.refusals.size()}};
  return r;
}

} // namespace kpg::diff
