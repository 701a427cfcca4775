// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: include_closure. What the output object must contain.
//
// Seeds: changed functions (with their .cold parts), new global functions and objects
// (another object of the same patch may use them: "a new global function defined in one file
// and called from another patched file"), and callbacks. Then, following relocations: a
// referenced symbol is copied only if the running kernel does not have it -- it is new, or it
// is a fresh static (names.h), or it is anonymous read-only data (string literals,
// constant pools) that has no name to find it by. Everything else the code refers to stays a
// reference to the running kernel's symbol (resolved later by plan_relocations), which is what
// keeps the kernel's state: a patched function that increments a static counter increments
// the kernel's counter, not a copy.
#include <deque>
#include <fmt/format.h>

#include "diff/passes.h"

namespace kpg::diff {
namespace {

class Includer {
public:
  explicit Includer(DiffContext &ctx) : ctx_(ctx), pv_(*ctx.pv) {}
  void seed();
  void targets_of(SectionId sec, u64 start, u64 end, const std::string &who);
  void drain();

private:
  void add_symbol(SymbolId s, IncludeKind k, std::string why);
  void add_section(SectionId s, std::string why);
  void add_chunk(SectionId s, u64 start, u64 end, std::string why);
  Status status(SymbolId s) const {
    auto c = ctx_.changes.patched.get(s);
    return c ? c->status : Status::Same;
  }

  DiffContext &ctx_;
  const ObjectView &pv_;
  std::deque<SymbolId> work_;
};

void Includer::add_symbol(SymbolId s, IncludeKind k, std::string why) {
  if (ctx_.incl.has(s))
    return;
  ctx_.incl.symbols.set(s, IncludeReason{k, std::move(why)});
  ctx_.incl.order.push_back(s);
  work_.push_back(s);
  // A function brings its cold parts: they are jumped to, never called, and share its frame.
  for (SymbolId child : pv_.cold_parts(s))
    add_symbol(child, IncludeKind::ColdPart, "cold part of " + pv_.sym(s).name);
}

void Includer::add_section(SectionId s, std::string why) {
  if (ctx_.incl.sections.has(s))
    return;
  ctx_.incl.sections.set(s, IncludeReason{IncludeKind::WholeSection, std::move(why)});
  ctx_.incl.section_order.push_back(s);
  const elf::Section &sec = pv_.sec(s);
  if (!sec.relocs.empty())
    targets_of(s, 0, sec.size, sec.name);
}

void Includer::add_chunk(SectionId s, u64 start, u64 end, std::string why) {
  if (ctx_.incl.chunk_at(s, static_cast<i64>(start)))
    return;
  ctx_.incl.chunks.push_back(IncludedChunk{s, start, end, std::move(why)});
  targets_of(s, start, end, fmt::format("{}+0x{:x}", pv_.sec(s).name, start));
}

void Includer::targets_of(SectionId sec, u64 start, u64 end, const std::string &who) {
  for (const elf::Reloc &r : pv_.relocs_in(sec, start, end)) {
    Target t = pv_.resolve(sec, r);
    std::string why = fmt::format("referenced by {}+0x{:x}", who, r.offset - start);
    switch (t.kind) {
    case Target::Kind::Undefined:
      break;
    case Target::Kind::String:
      add_section(t.sec, "string literals " + why);
      break;
    case Target::Kind::Anonymous: {
      const elf::Section &ts = pv_.sec(t.sec);
      if (ts.is_exec() && !is_ignored_section(ts.name)) {
        // Code without symbol: a .fixup or .text..refcount chunk of the function (code_chunks.h).
        // Anything else is reached through its function (or, for alternatives, selected later).
        if (auto c = ctx_.pchunks ? ctx_.pchunks->chunk_at(t.sec, t.offset) : std::nullopt)
          add_chunk(t.sec, c->first, c->second, "out-of-line code " + why);
        break;
      }
      if (ts.is_exec() || is_ignored_section(ts.name) || pv_.find_special(ts.name))
        break; // code sections are reached through their functions; tables are selected later
      if (ts.flags & SHF_WRITE)
        ctx_.notes.push_back(fmt::format("{}: writable anonymous data {} copied: the patch gets its own copy",
                                         who, pv_.describe(t)));
      add_section(t.sec, "anonymous data " + why);
      break;
    }
    case Target::Kind::Symbol: {
      const SymFacts &f = pv_.facts(t.sym);
      const elf::Symbol &ts = pv_.sym(t.sym);
      if (f.role == SymRole::Function || f.role == SymRole::ColdPart) {
        if (status(t.sym) == Status::New) {
          if (is_init_section_name(pv_.sec(*ts.section).name))
            ctx_.refuse(code::INIT_REFERENCED, ctx_.loc_patched(t.sym),
                        fmt::format("new __init function {} is {}: __init code is freed after boot. Drop __init from "
                                    "it, or do that work from a pre-patch callback",
                                    ts.name, why));
          add_symbol(t.sym, IncludeKind::NewFunction, "new function " + why);
        } else if (f.role == SymRole::ColdPart && f.parent && ctx_.incl.has(*f.parent)) {
          add_symbol(t.sym, IncludeKind::ColdPart, "cold part of " + pv_.sym(*f.parent).name);
        }
      } else if (f.role == SymRole::Object) {
        // .BTF_ids words are never copied: plan_relocations points the reference at the
        // running kernel's list (btf_ids.h).
        if (const SpecialSection *tab = pv_.find_special(pv_.sec(*ts.section).name);
            tab && tab->policy == SpecialPolicy::RunningKernel)
          break;
        // A new __initdata object would be copied into the module's own .init.data, which the
        // module loader frees right after the (livepatch) module's init: same as new __init code.
        if (!f.fresh_static && status(t.sym) == Status::New && is_init_section_name(pv_.sec(*ts.section).name))
          ctx_.refuse(code::INIT_REFERENCED, ctx_.loc_patched(t.sym),
                      fmt::format("new __init object {} is {}: __init data is freed after init. Drop __initdata "
                                  "from it",
                                  ts.name, why));
        if (f.read_only_local && !is_fresh_static(f.name.base()))
          add_symbol(t.sym, IncludeKind::ReadOnlyLocal, "read-only static local " + why + ": holds no state, so the "
                                                                                      "patched code uses its own copy");
        else if (f.fresh_static)
          add_symbol(t.sym, IncludeKind::FreshStatic, "fresh static " + why);
        else if (status(t.sym) == Status::New)
          add_symbol(t.sym, IncludeKind::NewObject, "new object " + why);
      }
      break;
    }
    }
  }
}

void Includer::seed() {
  for (SymbolId p : pv_.obj().symbols.ids()) {
    auto c = ctx_.changes.patched.get(p);
    if (!c)
      continue;
    const SymFacts &f = pv_.facts(p);
    const elf::Symbol &s = pv_.sym(p);
    if (c->status == Status::Changed && f.role == SymRole::Function) {
      std::string why = "changed";
      if (c->diff)
        why += fmt::format(" ({} at +0x{:x}: {})", difference_kind_name(c->diff->kind), c->diff->offset, c->diff->detail);
      // Without ftrace entry: no klp_func; the patched callers call this copy (notrace.cc).
      if (auto n = ctx_.notrace.copies.get(p))
        add_symbol(p, IncludeKind::NotraceCopy, why + "; no ftrace entry: " + *n);
      else
        add_symbol(p, IncludeKind::ChangedFunction, why);
    } else if (c->status == Status::New && !s.is_local() && !is_init_section_name(pv_.sec(*s.section).name)) {
      if (f.role == SymRole::Function)
        add_symbol(p, IncludeKind::NewFunction, "new global function");
      else if (f.role == SymRole::Object)
        add_symbol(p, IncludeKind::NewObject, "new global object");
    }
  }
  for (const Callback &cb : ctx_.callbacks)
    add_symbol(cb.func, IncludeKind::Callback, std::string(callback_kind_name(cb.kind)) + " callback");
}

void Includer::drain() {
  while (!work_.empty()) {
    SymbolId s = work_.front();
    work_.pop_front();
    const elf::Symbol &sym = pv_.sym(s);
    targets_of(*sym.section, sym.value, sym.value + std::max<u64>(sym.size, 1), sym.name);
  }
}

} // namespace

void include_targets_of(DiffContext &ctx, SectionId sec, u64 start, u64 end, const std::string &who) {
  Includer in(ctx);
  in.targets_of(sec, start, end, who);
  in.drain();
}

void include_closure(DiffContext &ctx) {
  Includer in(ctx);
  in.seed();
  in.drain();
}

} // namespace kpg::diff
