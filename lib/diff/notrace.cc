// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: patch_notrace_callers. Livepatch redirects a function through its ftrace entry (a
// `call __fentry__` at its start, or the 5-byte NOP that replaced it), so a changed function
// without one cannot be replaced: notrace and noinstr functions, and -- the usual case -- an
// `inline` function that gcc emitted out of line, since the kernel's `inline` implies
// notrace (`pgd_none` in mm/memory.c on Debian's kernel; mm/page_alloc.c's `static inline
// __free_one_page`, called by free_unref_page(), free_pcppages_bulk(), ...). kpatch refuses
// such a change. When every way into the function is a call from traceable functions of the
// same unit, we patch those callers instead: their copies call a copy of the new function,
// and once every task has switched to the patched callers nothing calls the old one.
//
// That is safe under these conditions, each checked here (otherwise NO_FENTRY, naming the
// one that failed):
//  1. The function is static in both objects: nothing outside the unit can call it by name.
//  2. Nothing takes its address, in either object: only call and jump instructions of other
//     functions refer to it (and the special-section entries that describe its own code, such
//     as its ORC entries). A stored pointer could reach the old function from anywhere.
//  3. It is alone in its section (-ffunction-sections): calls between neighbours of a shared
//     section (.noinstr.text) carry no relocation and could not all be seen. noinstr code is
//     refused outright: it runs where the kernel must not be instrumented, and its copy would
//     be ordinary module text.
//  4. Every caller has a twin in the patched object and an ftrace entry: it is patched (a
//     klp_func), and the patched version calls the copy. A caller that has no ftrace entry
//     either is handled the same way, recursively: it must itself meet 1-6, it is copied, and
//     *its* callers are patched -- up to traceable callers. (Recursion is bounded by the
//     unit's static functions; a global notrace caller ends it with a refusal.)
//  5. Callers reach it with `call`: the caller's frame stays on the stack while the old
//     function runs, and the caller, being patched, holds back the transition of any task
//     sleeping in it -- the consistency model the kernel gives patched functions. A tail call
//     (`jmp`) leaves no such frame, so it is accepted only when the old function makes no
//     call at all: it cannot sleep then, and is never on a task's reliable stack (an
//     interrupted frame makes the stack unreliable, and running tasks are not switched). The
//     common refusal here: the syscall wrappers' `jmp __do_sys_foo` to a body that sleeps.
//     The patched version must make no call either: the patched caller reaches the module's
//     copy by the same jump, so a task sleeping in it would not hold back the transition that
//     disables the patch, and unloading the module would free the code under it.
//  6. An __init caller ran at boot and its code is gone (vmlinux: noted, nothing to patch);
//     in a module it runs at every load, with the old function, and __exit callers cannot be
//     patched at all: refused.
#include <algorithm>
#include <fmt/format.h>
#include <set>

#include "diff/passes.h"

namespace kpg::diff {
namespace {

struct Edge {
  SymbolId caller; // function (a cold part is attributed to its parent)
  u64 site = 0;    // offset of the call or jump in the caller (or its cold part)
  bool tail = false;
};

class NotraceCallers {
public:
  explicit NotraceCallers(DiffContext &ctx) : ctx_(ctx), ov_(*ctx.ov), pv_(*ctx.pv) {}
  void run();

private:
  std::optional<std::string> ways_in(const ObjectView &v, const SpecialIndex &idx, SymbolId func,
                                     std::vector<Edge> &edges) const;
  static std::optional<SymbolId> first_call(const ObjectView &v, SymbolId func);
  void force_changed(SymbolId p, u64 site, std::string detail);

  DiffContext &ctx_;
  const ObjectView &ov_, &pv_;
};

bool is_noinstr_section(std::string_view name) {
  return name.starts_with(".noinstr.text") || name.starts_with(".entry.text");
}

// The code a relocation site belongs to: a function, or a cold part's parent.
std::optional<SymbolId> function_at(const ObjectView &v, SectionId sec, u64 off) {
  auto s = v.symbol_at(sec, off);
  if (!s)
    return std::nullopt;
  const SymFacts &f = v.facts(*s);
  if (f.role == SymRole::ColdPart && f.parent)
    return f.parent;
  if (f.role == SymRole::Function)
    return s;
  return std::nullopt;
}

// Every way into `func` in view `v`: calls and jumps from other functions are collected as
// edges; anything else (an address taken, a table entry) is returned as the reason why the
// callers cannot be patched instead.
std::optional<std::string> NotraceCallers::ways_in(const ObjectView &v, const SpecialIndex &idx, SymbolId func,
                                                   std::vector<Edge> &edges) const {
  std::set<u32> own; // the function's sections (its own and its cold parts')
  own.insert(to_index(*v.sym(func).section));
  for (SymbolId c : v.cold_parts(func))
    own.insert(to_index(*v.sym(c).section));
  auto is_own = [&](SymbolId s) { return s == func || std::ranges::find(v.cold_parts(func), s) != v.cold_parts(func).end(); };
  for (SectionId sid : v.obj().sections.ids()) {
    const elf::Section &sec = v.sec(sid);
    // Ignored sections are never loaded or only annotate (.discard.*, debug info), except the
    // alternatives' code: a replacement that calls the function (ALTERNATIVE_CALL) is code
    // outside any function, patched into its owner at boot.
    bool alt_code = sec.name == ".altinstr_replacement" || sec.name == ".altinstr_aux";
    if (sec.relocs.empty() || own.count(to_index(sid)) || (is_ignored_section(sec.name) && !alt_code))
      continue;
    for (const elf::Reloc &r : v.relocs_of(sid)) {
      const elf::Symbol &rs = v.sym(r.sym);
      if (!rs.section || !own.count(to_index(*rs.section)))
        continue;
      auto t = v.target_symbol(sid, r);
      if (!t || !is_own(*t))
        continue;
      if (v.find_special(sec.name)) {
        // Entries describing the function's own code (its ORC, exception and bug entries)
        // come with its copy; any other entry pointing at it is a way in we cannot patch.
        for (const EntryRef &e : idx.entries_in(sec.name))
          if (r.offset >= e.offset && r.offset < e.offset + e.entsize) {
            if (e.owner && is_own(*e.owner))
              goto next_reloc;
            break;
          }
        return fmt::format("a {} entry at +0x{:x} refers to it", sec.name, r.offset);
      }
      if (sec.is_exec()) {
        auto caller = function_at(v, sid, r.offset);
        if (!caller)
          return fmt::format("code outside any function ({}+0x{:x}) refers to it", sec.name, r.offset);
        const disasm::Insn *i = v.insn_at(sid, r.offset);
        const elf::Symbol &site_sym = v.sym(*v.symbol_at(sid, r.offset));
        u64 site = i ? i->offset - site_sym.value : r.offset - site_sym.value;
        bool branch = i && i->branch_target && i->branch_disp_size == 4 && r.offset + 4 == i->end();
        if (branch && i->kind == disasm::InsnKind::Call) {
          edges.push_back(Edge{*caller, site, false});
          continue;
        }
        if (branch && (i->kind == disasm::InsnKind::Jump || i->kind == disasm::InsnKind::CondJump)) {
          edges.push_back(Edge{*caller, site, true});
          continue;
        }
        return fmt::format("{}+0x{:x} takes its address", v.name(*v.symbol_at(sid, r.offset)), site);
      }
      {
        auto holder = v.symbol_at(sid, r.offset);
        return fmt::format("its address is stored in {}", holder ? v.name(*holder) + fmt::format("+0x{:x}", r.offset - v.sym(*holder).value)
                                                                : fmt::format("{}+0x{:x}", sec.name, r.offset));
      }
    next_reloc:;
    }
  }
  return std::nullopt;
}

// The first call the function (or its cold part) makes, if any: a function that calls
// nothing cannot sleep, so it is never on a task's reliable stack.
std::optional<SymbolId> NotraceCallers::first_call(const ObjectView &v, SymbolId func) {
  std::vector<SymbolId> parts{func};
  for (SymbolId c : v.cold_parts(func))
    parts.push_back(c);
  for (SymbolId s : parts)
    for (const disasm::Insn &i : v.code_of(s).insns)
      if (i.kind == disasm::InsnKind::Call)
        return s;
  return std::nullopt;
}

void NotraceCallers::force_changed(SymbolId p, u64 site, std::string detail) {
  auto ch = ctx_.changes.patched.get(p);
  if (ch && ch->status != Status::Same)
    return; // already patched (or new) for its own reasons
  SymbolChange c;
  c.status = Status::Changed;
  c.diff = std::make_shared<const Difference>(make_difference(DifferenceKind::NotraceCallee, site, "", "", std::move(detail)));
  ctx_.changes.patched.set(p, std::move(c));
}

void NotraceCallers::run() {
  // The changed functions without ftrace entry, in symbol order.
  std::vector<std::pair<SymbolId, SymbolId>> roots; // (orig, patched)
  for (SymbolId p : pv_.obj().symbols.ids()) {
    auto ch = ctx_.changes.patched.get(p);
    if (!ch || ch->status != Status::Changed || pv_.facts(p).role != SymRole::Function)
      continue;
    if (is_init_section_name(pv_.sec(*pv_.sym(p).section).name))
      continue; // INIT_CHANGED
    auto o = ctx_.corr.p2o.get(p);
    if (o && !has_ftrace_entry(ctx_, false, *o))
      roots.emplace_back(*o, p);
  }
  for (auto [root_o, root_p] : roots) {
    struct Copy {
      SymbolId orig, patched;
      std::string callee; // what it calls that made it a copy (empty for the root)
    };
    std::vector<Copy> copies{{root_o, root_p, ""}};
    struct Caller {
      SymbolId patched;
      u64 site;           // of the call, in the caller (the same in both objects: it did not change)
      std::string callee; // the root, or a copied notrace caller on the way up
    };
    std::vector<Caller> callers;
    std::vector<std::string> notes;
    std::optional<std::string> fail;
    for (size_t k = 0; k < copies.size() && !fail; k++) {
      SymbolId xo = copies[k].orig, xp = copies[k].patched;
      const std::string &xn = ov_.sym(xo).name;
      const std::string &secname = ov_.sec(*ov_.sym(xo).section).name;
      if (!ov_.sym(xo).is_local() || !pv_.sym(xp).is_local()) {
        fail = fmt::format("{} is global, so code outside this unit may call it directly", xn);
        break;
      }
      if (is_noinstr_section(secname)) {
        fail = fmt::format("{} is noinstr (section {}): it runs where the kernel must not be instrumented", xn, secname);
        break;
      }
      if (!ov_.facts(xo).bundled || !pv_.facts(xp).bundled) {
        fail = fmt::format("{} shares section {} with other code, whose calls to it carry no relocation", xn, secname);
        break;
      }
      std::vector<Edge> edges, pedges;
      if (auto why = ways_in(ov_, *ctx_.oidx, xo, edges)) {
        fail = fmt::format("{} ({} in the original object)", *why, xn);
        break;
      }
      if (auto why = ways_in(pv_, *ctx_.pidx, xp, pedges)) {
        fail = fmt::format("{} ({} in the patched object)", *why, xn);
        break;
      }
      for (const Edge &e : edges) {
        if (e.caller == xo)
          continue; // recursion
        const elf::Symbol &cs = ov_.sym(e.caller);
        const std::string &csec = ov_.sec(*cs.section).name;
        if (is_init_section_name(csec)) {
          if (ctx_.opt.objname == "vmlinux") {
            notes.push_back(fmt::format("{} (__init, section {}) also calls {}: it ran at boot and is gone", cs.name,
                                        csec, xn));
            continue;
          }
          fail = fmt::format("the __init function {} of module {} calls {}: it runs at every load of the module, "
                             "with the old {}",
                             cs.name, ctx_.opt.objname, xn, xn);
          break;
        }
        if (is_exit_section_name(csec)) {
          fail = fmt::format("the __exit function {} calls {}, and __exit code cannot be patched", cs.name, xn);
          break;
        }
        if (e.tail) {
          if (first_call(ov_, xo)) {
            fail = fmt::format("{} reaches {} by a tail call (jmp at +0x{:x}), and {} makes calls: a task sleeping "
                               "in one of them has the old {} on its stack but not {}, so the transition would switch "
                               "it in the middle of the old code",
                               cs.name, xn, e.site, xn, xn, cs.name);
            break;
          }
          // The other direction: the patched caller reaches the module's copy by the same
          // jump. A task sleeping in a call the new version makes has the copy on its stack
          // but not the caller, so disabling the patch would complete around it, and
          // unloading the module would free the code it returns into.
          if (first_call(pv_, xp)) {
            fail = fmt::format("{} reaches {} by a tail call (jmp at +0x{:x}), and the patched {} makes calls: a task "
                               "sleeping in one of them would be running the module's copy of {} with {} not on its "
                               "stack, so disabling the patch could complete and unloading the module free that code "
                               "under it",
                               cs.name, xn, e.site, xn, xn, cs.name);
            break;
          }
        }
        auto cp = ctx_.corr.o2p.get(e.caller);
        if (!cp) {
          fail = fmt::format("its caller {} has no counterpart in the patched object, so it cannot be patched",
                             cs.name);
          break;
        }
        if (has_ftrace_entry(ctx_, false, e.caller)) {
          if (std::ranges::find(callers, *cp, &Caller::patched) == callers.end())
            callers.push_back(Caller{*cp, e.site, xn});
        } else if (std::ranges::find(copies, e.caller, &Copy::orig) == copies.end()) {
          copies.push_back(Copy{e.caller, *cp, xn});
        }
      }
    }
    const std::string &root = pv_.sym(root_p).name;
    if (fail) {
      ctx_.refuse(code::NO_FENTRY, ctx_.loc_orig(root_o),
                  fmt::format("{} changed but has no ftrace entry (call __fentry__): it is notrace or noinstr, or an "
                              "`inline` function gcc emitted out of line (the kernel's `inline` implies notrace). "
                              "Livepatch can only redirect traceable functions, and its callers cannot be patched "
                              "instead: {}. Make it __always_inline so that its callers change, or patch the callers",
                              root, *fail));
      continue;
    }
    if (callers.empty()) {
      ctx_.refuse(code::NO_FENTRY, ctx_.loc_orig(root_o),
                  fmt::format("{} changed but has no ftrace entry (call __fentry__), and no traceable function of "
                              "this unit calls it: there is nothing livepatch could redirect. Make it "
                              "__always_inline so that its callers change, or patch the callers",
                              root));
      continue;
    }
    NotraceRedirect r;
    r.func = root_p;
    std::vector<std::string> caller_names, copy_names;
    for (const Caller &c : callers) {
      r.callers.push_back(c.patched);
      caller_names.push_back(pv_.sym(c.patched).name);
    }
    for (const Copy &c : copies) {
      r.copies.push_back(c.patched);
      copy_names.push_back(pv_.sym(c.patched).name);
    }
    r.why = fmt::format("patched callers {} because {} has no ftrace entry", fmt::join(caller_names, ", "), root);
    if (copies.size() > 1)
      r.why += fmt::format(" (nor do its callers {}, which are copied along)",
                           fmt::join(std::vector<std::string>(copy_names.begin() + 1, copy_names.end()), ", "));
    for (const std::string &n : notes)
      r.why += "; " + n;
    ctx_.notes.push_back(r.why);
    // Copies: the changed function itself and notrace callers on the way up (those that did not
    // change call a copy now, so they are copies too).
    for (const Copy &c : copies) {
      if (!c.callee.empty())
        force_changed(c.patched, 0,
                      fmt::format("calls {}, which is copied because the changed {} has no ftrace entry; it has none "
                                  "either, so it is copied too and its own callers are patched",
                                  c.callee, root));
      ctx_.notrace.copies.set(c.patched, r.why);
    }
    for (const Caller &c : callers)
      force_changed(c.patched, c.site,
                    c.callee == root
                        ? fmt::format("calls {}, which changed and has no ftrace entry: patched so that it calls the "
                                      "new {}",
                                      root, root)
                        : fmt::format("calls {}, which has no ftrace entry and calls the changed {} (no ftrace entry "
                                      "either): patched so that it calls the new copies",
                                      c.callee, root));
    ctx_.notrace.redirects.push_back(std::move(r));
  }
}

} // namespace

// A function can be redirected only if ftrace can hook its entry: its first instruction
// (after an IBT endbr64) is `call __fentry__` as gcc -pg -mfentry emits it, or the 5-byte
// NOP that replaces it -- recorded in __mcount_loc (objtool --mcount, recordmcount), or
// carrying an R_X86_64_NONE relocation to __fentry__ (objtool --mnop rewrites the call into a
// NOP and its relocation into NONE; objects from other kernels may have that without the
// table).
bool has_ftrace_entry(const DiffContext &ctx, bool patched_side, SymbolId func) {
  const ObjectView &v = patched_side ? *ctx.pv : *ctx.ov;
  const elf::Symbol &s = v.sym(func);
  SectionId sec = *s.section;
  const auto &insns = v.code_of(func).insns;
  const auto &data = v.sec(sec).data;
  std::span<const u8> bytes(data.data(), data.size());
  size_t k = 0;
  if (k < insns.size() && disasm::is_endbr64(bytes, insns[k].offset))
    k++;
  if (k >= insns.size())
    return false;
  const disasm::Insn &i = insns[k];
  bool nop = disasm::is_fentry_nop(bytes, i.offset);
  if (i.kind != disasm::InsnKind::Call && !nop)
    return false;
  for (const elf::Reloc &r : v.relocs_in(sec, i.offset, i.end()))
    if (v.sym(r.sym).name == "__fentry__")
      return true;
  if (!nop)
    return false;
  // __mcount_loc: one 8-byte R_X86_64_64 per site. Read from its relocations rather than its
  // entries, so that a table with a wrong entry size still answers (validate_special_sections
  // decides later whether that table matters).
  if (auto mc = v.find_section("__mcount_loc"))
    for (const elf::Reloc &r : v.relocs_of(*mc)) {
      Target t = v.resolve(*mc, r);
      if (t.kind == Target::Kind::Symbol && t.sym == func && t.offset == static_cast<i64>(i.offset - s.value))
        return true;
      if (t.kind == Target::Kind::Anonymous && t.sec == sec && t.offset == static_cast<i64>(i.offset))
        return true;
    }
  return false;
}

void patch_notrace_callers(DiffContext &ctx) { NotraceCallers(ctx).run(); }

} // namespace kpg::diff
