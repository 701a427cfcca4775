// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: check_unsupported. Changes a live patch cannot carry, each refused with a stable code
// and a message that says what to do instead. Every problem is reported (the pipeline stops at
// the next checkpoint), so a user fixes all of them in one round.
#include <fmt/format.h>

#include "diff/passes.h"

namespace kpg::diff {
namespace {

class Checker {
public:
  explicit Checker(DiffContext &ctx) : ctx_(ctx), ov_(*ctx.ov), pv_(*ctx.pv) {}
  void run();

private:
  void check_init_and_data(SymbolId p, const SymbolChange &c);
  void check_fentry(SymbolId p);
  void check_comdat(SymbolId p);
  void check_static_locals();
  bool has_fentry(const ObjectView &v, SymbolId func) const;

  DiffContext &ctx_;
  const ObjectView &ov_, &pv_;
};

// A function can be redirected only if ftrace can hook its entry: its first instruction
// (after an IBT endbr64) is `call __fentry__` as gcc -pg -mfentry emits it, or the 5-byte NOP
// that replaces it when objtool/recordmcount already recorded the site in __mcount_loc.
bool Checker::has_fentry(const ObjectView &v, SymbolId func) const {
  const elf::Symbol &s = v.sym(func);
  SectionId sec = *s.section;
  const auto &insns = v.code_of(func).insns;
  size_t k = 0;
  const auto &data = v.sec(sec).data;
  std::span<const u8> bytes(data.data(), data.size());
  if (k < insns.size() && disasm::is_endbr64(bytes, insns[k].offset))
    k++;
  if (k >= insns.size())
    return false;
  const disasm::Insn &i = insns[k];
  if (i.kind == disasm::InsnKind::Call)
    for (const elf::Reloc &r : v.relocs_in(sec, i.offset, i.end()))
      if (v.sym(r.sym).name == "__fentry__")
        return true;
  if (disasm::is_fentry_nop(bytes, i.offset)) {
    for (const EntryRef &e : (&v == ctx_.ov.get() ? *ctx_.oidx : *ctx_.pidx).entries_in("__mcount_loc"))
      if (e.owner == func && e.owner_off == static_cast<i64>(i.offset - s.value))
        return true;
  }
  return false;
}

void Checker::check_init_and_data(SymbolId p, const SymbolChange &c) {
  const elf::Symbol &s = pv_.sym(p);
  const std::string &secname = pv_.sec(*s.section).name;
  auto o = ctx_.corr.p2o.get(p);
  std::string osec = o ? ov_.sec(*ov_.sym(*o).section).name : secname;
  bool init = is_init_section_name(secname) || is_init_section_name(osec);
  bool exit = is_exit_section_name(secname) || is_exit_section_name(osec);
  if (c.status == Status::Changed && (init || exit)) {
    ctx_.refuse(code::INIT_CHANGED, ctx_.loc_patched(p),
                init ? fmt::format("{} is __init {} (section {}): it ran once at boot and its memory is gone; a live "
                                   "patch cannot change it. Redo its effect from a pre-patch callback instead",
                                   s.name, s.is_func() ? "code" : "data", secname)
                     : fmt::format("{} is __exit code (section {}): a live patch cannot replace it", s.name, secname));
    return;
  }
  if (c.status != Status::Changed || pv_.facts(p).role != SymRole::Object || !c.diff)
    return;
  // A table object (a __dyndbg descriptor) is not state the patch would rewrite: the functions
  // that use it changed with it (classify) and carry their own copy.
  if (const SpecialSection *t = find_special_section(secname); t && t->policy == SpecialPolicy::Objects)
    return;
  if (c.diff->kind == "size")
    ctx_.refuse(code::OBJECT_SIZE_CHANGED, ctx_.loc_patched(p),
                fmt::format("size of {} changed from {} to {}: the running kernel's object keeps its size and every "
                            "user of it keeps the old layout (a struct or array changed in a header?). Use a shadow "
                            "variable (klp_shadow_*) for new fields",
                            s.name, c.diff->orig, c.diff->patched));
  else
    ctx_.refuse(code::DATA_INIT_CHANGED, ctx_.loc_patched(p, c.diff->offset),
                fmt::format("initial value of {} changed ({}): a live patch does not rewrite existing data; the "
                            "running kernel keeps the current value. Change it from a callback, or change the code "
                            "that uses it",
                            s.name, c.diff->detail));
}

void Checker::check_fentry(SymbolId p) {
  auto o = ctx_.corr.p2o.get(p);
  if (!o || has_fentry(ov_, *o))
    return;
  const elf::Symbol &s = pv_.sym(p);
  ctx_.refuse(code::NO_FENTRY, ctx_.loc_orig(*o),
              fmt::format("{} changed but has no ftrace entry (call __fentry__): it is notrace or noinstr, or an "
                          "`inline` function gcc emitted out of line (the kernel's `inline` implies notrace). "
                          "Livepatch can only redirect traceable functions: make it __always_inline so that its "
                          "callers change, or patch the callers",
                          s.name));
}

void Checker::check_comdat(SymbolId p) {
  SectionId sec = *pv_.sym(p).section;
  for (const elf::Section &g : pv_.obj().sections) {
    if (g.type != SHT_GROUP || !(g.group_flags & GRP_COMDAT))
      continue;
    // A group is known by its signature symbol (every group section is named ".group").
    std::string sig = g.group_signature ? pv_.name(*g.group_signature) : g.name;
    for (SectionId m : g.group_members)
      if (m == sec)
        ctx_.refuse(code::COMDAT_CHANGED, ctx_.loc_patched(p),
                    fmt::format("{} changed inside COMDAT group '{}': the linker keeps one copy of a COMDAT group "
                                "from any object, so the running kernel may use another unit's copy",
                                pv_.sym(p).name, sig));
  }
}

// A function-scope static keeps state in the running kernel (a counter, a cached pointer).
// The patched function must go on using that variable, which correlation ensures by finding
// the variable's twin. When the patched object has no twin at all, the patched code either
// dropped the variable or gcc optimised the reference away (often: the function that used it
// got inlined somewhere else), and we cannot tell which state the patch wants.
void Checker::check_static_locals() {
  std::map<u32, std::vector<SymbolId>> users; // orig static local -> orig functions using it
  for (SymbolId f : ov_.obj().symbols.ids()) {
    const SymFacts &ff = ov_.facts(f);
    if (ff.role != SymRole::Function && ff.role != SymRole::ColdPart)
      continue;
    const elf::Symbol &fs = ov_.sym(f);
    for (const elf::Reloc &r : ov_.relocs_in(*fs.section, fs.value, fs.value + fs.size)) {
      auto t = ov_.target_symbol(*fs.section, r);
      if (t && ov_.facts(*t).static_local && !ov_.facts(*t).fresh_static)
        users[to_index(*t)].push_back(ff.role == SymRole::ColdPart && ff.parent ? *ff.parent : f);
    }
  }
  for (auto &[s, funcs] : users) {
    SymbolId var{s};
    if (ctx_.corr.o2p.has(var))
      continue;
    for (SymbolId f : funcs) {
      auto fp = ctx_.corr.o2p.get(f);
      if (!fp)
        continue;
      auto ch = ctx_.changes.patched.get(*fp);
      if (!ch || ch->status != Status::Changed)
        continue;
      ctx_.refuse(code::STATIC_LOCAL_REF_REMOVED, ctx_.loc_orig(f),
                  fmt::format("the reference to static local variable {} in {} was removed: the patched {} would "
                              "lose the running kernel's value. Keep a reference to it (e.g. read it), or make the "
                              "state change explicit with a callback",
                              ov_.sym(var).name, ov_.sym(f).name, pv_.sym(*fp).name));
      break;
    }
  }
}

void Checker::run() {
  for (SymbolId p : pv_.obj().symbols.ids()) {
    auto ch = ctx_.changes.patched.get(p);
    if (!ch || ch->status != Status::Changed)
      continue;
    check_init_and_data(p, *ch);
    if (pv_.facts(p).role == SymRole::Function) {
      bool init = is_init_section_name(pv_.sec(*pv_.sym(p).section).name);
      if (!init)
        check_fentry(p);
    }
    check_comdat(p);
  }
  check_static_locals();
}

} // namespace

void check_unsupported(DiffContext &ctx) { Checker(ctx).run(); }

} // namespace kpg::diff
