// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: ignore_line_only_changes. A patch that adds lines shifts __LINE__ for everything
// below it. Most uses of __LINE__ end up in data we do not compare (the `line` field of
// struct bug_entry is masked by compare()), but some are immediates in the code:
//
//     might_sleep()  ->  mov $0x1c3,%esi ; mov $.LC0,%rdi ; call __might_sleep
//
// and such a function would be patched for nothing. compare() reports functions whose only
// differences are immediates, with every site; here each site is judged. kpatch whitelists a
// few callees and registers; we first ask DWARF: an immediate that equals, on both sides,
// the source line the line table gives for its own instruction is a __LINE__ value. Without
// debug info (or when the compiler attributed the instruction to a neighbouring line) we fall
// back to the API contract of the functions that take a line argument in %esi
// (__might_sleep(file, line), __might_resched(file, line, offsets), __might_fault(file,
// line), lockdep_rcu_suspicious(file, line, s), warn_slowpath_fmt(file, line, taint, fmt)):
// an immediate loaded into %esi right before a call to one of them is a line number. A
// `pr_info("%d", 5)` -> 6 change is never mistaken for one: _printk takes no line argument.
//
// Lines also hide in string literals: __FILE__ ":" __stringify(__LINE__) is the "field ... at
// arch/x86/kvm/x86.c:8493" of every fortified memcpy() (include/linux/fortify-string.h), so
// one blank line at the top of x86.c changed prepare_emulation_failure_exit(). compare()
// reports strings that differ only in the number after "<file>.c:"; such a number is a line
// when DWARF says it is the line of the instruction that loads the string, or of a call site
// it was inlined from, on both sides. There is no fallback without DWARF.
#include <fmt/format.h>

#include "diff/passes.h"
#include "dwarf/dwarf.h"

namespace kpg::diff {
namespace {

bool is_line_sink(std::string_view name) {
  static constexpr std::string_view sinks[] = {"__might_sleep", "__might_resched", "__might_fault",
                                               "lockdep_rcu_suspicious", "warn_slowpath_fmt", "___might_sleep"};
  for (std::string_view s : sinks)
    if (name == s)
      return true;
  return false;
}

class LineOnly {
public:
  explicit LineOnly(DiffContext &ctx) : ctx_(ctx), ov_(*ctx.ov), pv_(*ctx.pv) {}
  void run();

private:
  bool is_line(const ImmSite &site, SymbolId o, SymbolId p);
  bool sink_follows(const ObjectView &v, SymbolId func, size_t k) const;
  void load_dwarf();
  static bool line_of_code(const dwarf::ObjectDebugInfo &d, SectionId sec, u64 off, i64 value);
  // Sections of changed functions with __FILE__:__LINE__ string sites: their inlining trees
  // are loaded (a string used in inlined code names the line of the call site).
  std::vector<SectionId> orig_string_secs_, patched_string_secs_;

  DiffContext &ctx_;
  const ObjectView &ov_, &pv_;
  bool dwarf_tried_ = false;
};

void LineOnly::load_dwarf() {
  if (dwarf_tried_)
    return;
  dwarf_tried_ = true;
  dwarf::LoadOptions lo, lp; // line tables, and inlining trees only where strings need them
  lo.inlines = !orig_string_secs_.empty();
  lo.inline_sections = orig_string_secs_;
  lp.inlines = !patched_string_secs_.empty();
  lp.inline_sections = patched_string_secs_;
  auto of = ctx_.with_debug_info(false);
  auto pf = ctx_.with_debug_info(true);
  if (!of || !pf) {
    ctx_.notes.push_back(fmt::format("__LINE__ detection without DWARF: {}", !of ? of.error().str() : pf.error().str()));
    return;
  }
  auto o = dwarf::ObjectDebugInfo::load(**of, lo);
  auto p = dwarf::ObjectDebugInfo::load(**pf, lp);
  if (o && p && o->has_info() && p->has_info()) {
    ctx_.orig_dwarf = std::make_unique<dwarf::ObjectDebugInfo>(std::move(*o));
    ctx_.patched_dwarf = std::make_unique<dwarf::ObjectDebugInfo>(std::move(*p));
  } else if (!o || !p) {
    ctx_.notes.push_back(fmt::format("__LINE__ detection without DWARF: {}", !o ? o.error().str() : p.error().str()));
  }
}

// Is instruction k of `func` a `mov $imm, %esi` followed, before any other call or branch, by
// a call to a function whose second argument is a line number?
bool LineOnly::sink_follows(const ObjectView &v, SymbolId func, size_t k) const {
  SectionId sec = *v.sym(func).section;
  const auto &insns = v.code_of(func).insns;
  const auto &data = v.sec(sec).data;
  std::string text = v.decoder().format(std::span<const u8>(data.data(), data.size()), insns[k]);
  if (text.rfind("mov", 0) != 0 || !text.ends_with("%esi"))
    return false;
  for (size_t j = k + 1; j < insns.size() && j < k + 12; j++) {
    const disasm::Insn &i = insns[j];
    if (i.kind == disasm::InsnKind::Call) {
      for (const elf::Reloc &r : v.relocs_in(sec, i.offset, i.end())) {
        Target t = v.resolve(sec, r);
        if ((t.kind == Target::Kind::Undefined || t.kind == Target::Kind::Symbol) && is_line_sink(v.sym(t.sym).name))
          return true;
      }
      return false;
    }
    if (i.kind == disasm::InsnKind::Jump || i.kind == disasm::InsnKind::CondJump || i.kind == disasm::InsnKind::Return)
      return false;
  }
  return false;
}

bool LineOnly::line_of_code(const dwarf::ObjectDebugInfo &d, SectionId sec, u64 off, i64 value) {
  if (auto l = d.line_at(sec, off); l && static_cast<i64>(*l) == value)
    return true;
  for (const dwarf::InlineFrame &f : d.inline_chain(sec, off))
    if (static_cast<i64>(f.call_line) == value)
      return true;
  return false;
}

bool LineOnly::is_line(const ImmSite &site, SymbolId o, SymbolId p) {
  if (site.orig_value <= 0 || site.patched_value <= 0)
    return false;
  load_dwarf();
  if (site.in_string)
    return ctx_.orig_dwarf && ctx_.patched_dwarf &&
           line_of_code(*ctx_.orig_dwarf, *ov_.sym(o).section, site.orig_off, site.orig_value) &&
           line_of_code(*ctx_.patched_dwarf, *pv_.sym(p).section, site.patched_off, site.patched_value);
  if (ctx_.orig_dwarf && ctx_.patched_dwarf) {
    auto la = ctx_.orig_dwarf->line_at(*ov_.sym(o).section, site.orig_off);
    auto lb = ctx_.patched_dwarf->line_at(*pv_.sym(p).section, site.patched_off);
    if (la && lb && static_cast<i64>(*la) == site.orig_value && static_cast<i64>(*lb) == site.patched_value)
      return true;
  }
  return sink_follows(ov_, o, site.insn_index) && sink_follows(pv_, p, site.insn_index);
}

void LineOnly::run() {
  for (SymbolId p : pv_.obj().symbols.ids()) {
    auto ch = ctx_.changes.patched.get(p);
    auto o = ctx_.corr.p2o.get(p);
    if (!ch || !ch->diff || ch->diff->kind != DifferenceKind::Immediate || !o)
      continue;
    for (const ImmSite &site : ch->diff->imm_sites)
      if (site.in_string) {
        orig_string_secs_.push_back(*ov_.sym(*o).section);
        patched_string_secs_.push_back(*pv_.sym(p).section);
        break;
      }
  }
  for (SymbolId p : pv_.obj().symbols.ids()) {
    auto ch = ctx_.changes.patched.get(p);
    if (!ch || ch->status != Status::Changed || !ch->diff || ch->diff->kind != DifferenceKind::Immediate)
      continue;
    auto o = ctx_.corr.p2o.get(p);
    if (!o)
      continue;
    std::vector<std::string> lines;
    bool all = true;
    for (const ImmSite &site : ch->diff->imm_sites) {
      if (!is_line(site, *o, p)) {
        all = false;
        break;
      }
      lines.push_back(fmt::format("+0x{:x}: {}{} -> {}", site.patched_off - pv_.sym(p).value,
                                  site.in_string ? "__FILE__:__LINE__ string " : "", site.orig_value,
                                  site.patched_value));
    }
    if (!all)
      continue;
    SymbolChange c;
    c.status = Status::Same;
    c.line_only = std::move(lines);
    // compare() may already have found special entries that differ only in their line.
    c.line_only.insert(c.line_only.end(), ch->line_only.begin(), ch->line_only.end());
    ctx_.changes.patched.set(p, std::move(c));
  }
}

} // namespace

void ignore_line_only_changes(DiffContext &ctx) { LineOnly(ctx).run(); }

} // namespace kpg::diff
