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
  void check_comdat(SymbolId p);
  void check_static_locals();

  DiffContext &ctx_;
  const ObjectView &ov_, &pv_;
};

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
                     : fmt::format("{} is __exit code (section {}): it runs only when the module is removed, and a live patch "
                                   "cannot replace it. Leave it out of the live patch: the module's next load has the fix",
                                   s.name, secname));
    return;
  }
  if (c.status != Status::Changed || pv_.facts(p).role != SymRole::Object || !c.diff)
    return;
  // A table object (a __dyndbg descriptor) is not state the patch would rewrite: the functions
  // that use it changed with it (classify) and carry their own copy.
  if (const SpecialSection *t = pv_.find_special(secname); t && t->policy == SpecialPolicy::Objects)
    return;
  if (c.diff->kind == DifferenceKind::Size)
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
                                "from any object, so the running kernel may use another unit's copy. Change the callers "
                                "instead, or move the code out of the group (a non-inline function)",
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
    check_comdat(p);
  }
  check_static_locals();
}

} // namespace

void check_unsupported(DiffContext &ctx) { Checker(ctx).run(); }

} // namespace kpg::diff
