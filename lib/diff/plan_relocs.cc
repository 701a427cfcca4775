// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: plan_relocations. Every symbol the output refers to but does not contain is either
//  - a normal relocation: an undefined symbol the module loader resolves from the kernel's
//    exports (EXPORT_SYMBOL by vmlinux: printk, seq_printf, __fentry__), or one another
//    object of the same patch module defines (a new global function);
//  - a livepatch relocation to `.klp.sym.<obj>.<name>,<sympos>`: everything else that exists
//    in the running kernel -- static functions and variables, unexported globals, and every
//    symbol of a module (even exported ones: the patch may load before the module, "late
//    module patching", and module-specific livepatch relocations are applied when it comes).
// References from patched code to a changed function that take its address (a callback
// stored in a struct, `INIT_WORK(&w, fn)`) must keep pointing at the original: the copy
// disappears when the patch is replaced or removed, the original is redirected by ftrace for
// as long as a patch is active (kpatch learnt this in 2017, "do not use the patched functions
// as callbacks directly").
// sympos values come from the target symbol table (target.h) exactly as 6.1 counts them.
#include <fmt/format.h>
#include <map>

#include "diff/btf_ids.h"
#include "diff/passes.h"

namespace kpg::diff {
namespace {

class Planner {
public:
  explicit Planner(DiffContext &ctx) : ctx_(ctx), ov_(*ctx.ov), pv_(*ctx.pv) {}
  void run();

private:
  struct Site {
    SectionId sec;
    u64 start, end;
    bool special; // entries of special sections: their owner fields point at the copies
    std::string who;
    // The function a refusal about this site names: the included symbol itself, or the
    // function a special entry belongs to (a __jump_table entry's code).
    std::optional<SymbolId> sym;
  };
  Location site_loc(const Site &s, u64 off) const;
  std::vector<Site> sites() const;
  void plan_site(const Site &s);
  void check_init_reference(const Site &site, const elf::Reloc &r, const Target &t);
  void plan_btf_ids(const Site &site, const elf::Reloc &r, const Target &t);
  ExternalRef decide(SymbolId t);
  ExternalRef decide_original(SymbolId p);          // the running kernel's version of patched symbol p
  std::optional<u32> target_block(u32 file_block);
  void locate(ExternalRef &ref, SymbolId orig_sym);   // fills name/sympos from the target
  bool locate_stripped(SymbolId orig_sym, std::optional<u32> &idx);
  bool is_call_site(SectionId sec, const elf::Reloc &r) const;
  void plan_raw_branches(SymbolId s);

  DiffContext &ctx_;
  const ObjectView &ov_, &pv_;
  std::map<u32, std::optional<u32>> blocks_; // orig FILE block -> the target's
  std::map<u32, std::string> block_why_;
  bool stripped_noted_ = false;
};

std::vector<Planner::Site> Planner::sites() const {
  std::vector<Site> v;
  for (SymbolId s : ctx_.incl.order) {
    const elf::Symbol &sym = pv_.sym(s);
    v.push_back({*sym.section, sym.value, sym.value + std::max<u64>(sym.size, 1), false, sym.name, s});
  }
  for (SectionId s : ctx_.incl.section_order)
    v.push_back({s, 0, pv_.sec(s).size, false, pv_.sec(s).name, std::nullopt});
  for (const IncludedChunk &c : ctx_.incl.chunks) // out-of-line code: planned like code
    v.push_back({c.sec, c.start, c.end, false, fmt::format("{}+0x{:x}", pv_.sec(c.sec).name, c.start), std::nullopt});
  for (const SpecialSelection &sel : ctx_.special) {
    if (!copies_entries(*sel.spec))
      continue; // the objects of a __dyndbg are planned as included symbols above
    for (const SpecialEntry &e : sel.kept)
      v.push_back({sel.sec, e.offset, e.offset + sel.entsize, true, sel.spec->name, e.owner});
    if (!sel.aux_kept.empty())
      if (auto repl = pv_.find_section(sel.spec->aux_section))
        for (auto [a, b] : sel.aux_kept) // replacement code: planned like code (output.cc)
          v.push_back({*repl, a, b, false, sel.spec->aux_section, std::nullopt});
  }
  return v;
}

// "file: section+offset (function+offset)" of a place in a site: a refusal names the function
// it is about, not only the unit (a __jump_table+0xd0 entry of hyperv.o says which of its
// hundreds of functions has the static branch).
Location Planner::site_loc(const Site &site, u64 off) const {
  Location l = Location(pv_.obj().path).with_section(pv_.sec(site.sec).name, off);
  if (!site.sym)
    return l;
  const elf::Symbol &s = pv_.sym(*site.sym);
  // A special entry's owner lives in another section: no offset inside it.
  return site.special ? l.with_symbol(s.name) : l.with_symbol(s.name, off - s.value);
}

// The target's FILE block for one FILE block of the original object: a unit has one, an
// object linked from several units (`ld -r`) one per unit, each found by its own file name and
// locals. The name set leaves out what the target cannot have: fresh statics, __UNIQUE_ID_*
// (renumbered by __COUNTER__), init code and data (freed, and its symbols are not what a patch
// refers to), and locals of sections the final link drops (`__exitcall_af_unix_exit` in
// built-in af_unix.c: is_dropped_by_final_link).
std::optional<u32> Planner::target_block(u32 file_block) {
  auto it = blocks_.find(file_block);
  if (it == blocks_.end()) {
    std::vector<std::string> locals;
    for (SymbolId s : ov_.obj().symbols.ids()) {
      const SymFacts &f = ov_.facts(s);
      if ((f.role == SymRole::Function || f.role == SymRole::Object) && ov_.sym(s).is_local() && !f.fresh_static &&
          f.file_block == file_block && !f.name.base().starts_with("__UNIQUE_ID") &&
          !is_init_section_name(ov_.sec(*ov_.sym(s).section).name) &&
          !is_dropped_by_final_link(ov_.sec(*ov_.sym(s).section).name))
        locals.push_back(ov_.sym(s).name);
    }
    const std::string &file = file_block ? ov_.file_block_name(file_block) : ov_.file_name();
    it = blocks_.emplace(file_block, ctx_.target->find_block(file, locals, &block_why_[file_block])).first;
  }
  return it->second;
}

// Name and sympos of an original symbol in the running kernel.
void Planner::locate(ExternalRef &ref, SymbolId o) {
  const elf::Symbol &s = ov_.sym(o);
  ref.name = s.name;
  ref.sympos = 0;
  if (!ctx_.target)
    return;
  std::optional<u32> idx;
  if (s.is_local() && !ctx_.target->has_file_symbols()) {
    if (!locate_stripped(o, idx))
      return;
  } else if (s.is_local()) {
    u32 fb = ov_.facts(o).file_block;
    auto b = target_block(fb);
    if (!b) {
      ctx_.refuse(code::TARGET_SYMBOL_NOT_FOUND, ctx_.loc_orig(o),
                  fmt::format("cannot find this unit's local symbols in the target: {}. Was the target built from "
                              "the same source, config and compiler?",
                              block_why_[fb]));
      return;
    }
    idx = ctx_.target->find_local(*b, s.name, ov_.facts(o).name.key);
  } else {
    idx = ctx_.target->find_global(s.name);
  }
  if (!idx) {
    ctx_.refuse(code::TARGET_SYMBOL_NOT_FOUND, ctx_.loc_orig(o),
                fmt::format("{} {} is not in the target symbol table {} (inlined or optimised away in the running "
                            "kernel, or the target was built differently). Check that the target is the running kernel's "
                            "build; if the running kernel inlined it, patch its callers",
                            s.is_local() ? "static" : "global", s.name, ctx_.target->path()));
    return;
  }
  ref.name = ctx_.target->syms()[*idx].name;
  ref.sympos = ctx_.target->sympos(*idx);
}

// A stripped target (a distribution's .ko: `strip --strip-debug` removed the STT_FILE
// symbols) has no unit blocks; a local is ours when no other local of the module has its
// name. nfsd.ko, for one, links 30 units: `nfsd_cache_lookup`'s helpers in nfscache.c have
// names no other unit uses, so they resolve, whereas a static `param_set_...` present in two
// of its units would be a guess between two functions, refused with both candidates.
bool Planner::locate_stripped(SymbolId o, std::optional<u32> &idx) {
  const elf::Symbol &s = ov_.sym(o);
  std::vector<u32> cands;
  idx = ctx_.target->find_unique_local(s.name, ov_.facts(o).name.key, &cands);
  if (idx) {
    if (!stripped_noted_) {
      ctx_.notes.push_back(fmt::format("{} has no FILE symbols (stripped): this unit's locals were resolved by "
                                       "name, each being the only local of that name in it",
                                       ctx_.target->path()));
      stripped_noted_ = true;
    }
    return true;
  }
  if (cands.empty())
    return true; // not there at all: reported like a missing symbol by the caller
  std::vector<std::string> list;
  for (u32 c : cands) {
    const TargetSym &t = ctx_.target->syms()[c];
    list.push_back(fmt::format("{} (symtab #{}, {} bytes)", t.name, t.symtab_index, t.size));
  }
  ctx_.refuse(code::TARGET_SYMBOL_NOT_FOUND, ctx_.loc_orig(o),
              fmt::format("static {} is ambiguous in {}: {} locals match ({}), and the module has no FILE symbols "
                          "(stripped) to tell its units apart. Give the unstripped copy of the module instead (Debian: "
                          "the -dbg package's /usr/lib/debug/lib/modules/<release>/, which kpatch-gen build "
                          "--debian-kernel uses)",
                          s.name, ctx_.target->path(), cands.size(), fmt::join(list, ", ")));
  return false;
}

ExternalRef Planner::decide_original(SymbolId p) {
  ExternalRef ref;
  auto o = ctx_.corr.p2o.get(p);
  const elf::Symbol &ps = pv_.sym(p);
  bool vmlinux = ctx_.opt.objname == "vmlinux";
  const SymversEntry *exp = ctx_.symvers ? ctx_.symvers->find(ps.name) : nullptr;
  if (!ps.is_local() && exp && exp->module == "vmlinux" && vmlinux) {
    ref.kind = RefKind::Normal;
    ref.name = ps.name;
    ref.why = "exported by vmlinux";
    return ref;
  }
  ref.kind = RefKind::Klp;
  ref.objname = ctx_.opt.objname;
  if (o)
    locate(ref, *o);
  else
    ref.name = ps.name;
  ref.why = ps.is_local() ? fmt::format("static {} of {}", ps.is_func() ? "function" : "object", ref.objname)
                          : fmt::format("global symbol of {}{}", ref.objname, vmlinux ? ", not exported" : "");
  return ref;
}

ExternalRef Planner::decide(SymbolId t) {
  const elf::Symbol &s = pv_.sym(t);
  if (s.section)
    return decide_original(t);
  ExternalRef ref;
  ref.name = s.name;
  const SymversEntry *exp = ctx_.symvers ? ctx_.symvers->find(s.name) : nullptr;
  if (exp && exp->module == "vmlinux") {
    ref.kind = RefKind::Normal;
    ref.why = fmt::format("exported by vmlinux ({})", exp->export_type);
    return ref;
  }
  if (exp) {
    ref.kind = RefKind::Klp;
    ref.objname = module_objname(exp->module);
    ref.why = fmt::format("exported by module {}: resolved when it loads (late module patching)", ref.objname);
    return ref;
  }
  if (ctx_.target) {
    if (auto idx = ctx_.target->find_global(s.name)) {
      ref.kind = RefKind::Klp;
      ref.objname = ctx_.opt.objname;
      ref.sympos = ctx_.target->sympos(*idx);
      ref.why = fmt::format("global symbol of {}, not exported", ref.objname);
      return ref;
    }
  }
  ref.kind = RefKind::Normal;
  ref.why = ctx_.target ? "not in the target: provided by another object of this patch (checked at module link)"
                        : "no target symbol table given: assumed exported or provided by another object of the patch";
  return ref;
}

// Is this relocation the destination of a call or jump (as opposed to an address taken)?
bool Planner::is_call_site(SectionId sec, const elf::Reloc &r) const {
  if (!pv_.sec(sec).is_exec() || !is_pc_relative(r.type))
    return false;
  const disasm::Insn *i = pv_.insn_at(sec, r.offset);
  return i && i->is_branch() && i->branch_target && r.offset + 4 == i->end();
}

void Planner::plan_raw_branches(SymbolId s) {
  // Functions copied out of a shared section (.sched.text, or .text without
  // -ffunction-sections) may call their neighbours without a relocation; output.cc turns
  // those into relocations, and they need the same decision as any other reference.
  const elf::Symbol &sym = pv_.sym(s);
  for (const ObjectView::RawBranch &b : pv_.raw_branches_out(s)) {
    if (!b.dest) {
      ctx_.refuse(code::UNSUPPORTED_RELOCATION, ctx_.loc_patched(s, b.insn->offset - sym.value),
                  fmt::format("branch to {}+0x{:x}, which no function or label of the shared section {} covers: the "
                              "copy could not be pointed at it",
                              pv_.sec(*sym.section).name, b.target, pv_.sec(*sym.section).name));
      continue;
    }
    if (!ctx_.incl.has(*b.dest) && !ctx_.plan.external.has(*b.dest))
      ctx_.plan.external.set(*b.dest, decide(*b.dest));
  }
}

// __init code and data are freed once the kernel (or the module) has booted; kallsyms still
// lists them, so a livepatch relocation would resolve to freed memory. A patched runtime
// function that now calls an existing __init function (say a new call to an
// `__init parse_foo_opt()` helper in a sysfs store handler) would jump into whatever reuses
// that page. Section-mismatch-free kernel code never does this outside `__ref` functions,
// which only reach init code while booting, so a patch must not either.
void Planner::check_init_reference(const Site &site, const elf::Reloc &r, const Target &t) {
  const elf::Symbol &s = pv_.sym(t.sym);
  bool init = false;
  if (s.section) {
    init = is_init_section_name(pv_.sec(*s.section).name);
  } else if (ctx_.target) {
    auto idx = ctx_.target->find_global(s.name);
    init = idx && ctx_.target->syms()[*idx].init;
  }
  if (!init)
    return;
  ctx_.refuse(code::INIT_REFERENCED, site_loc(site, r.offset),
              fmt::format("{} refers to {}, which is __init (section {}): it is freed after boot, and the patched "
                          "code would reach freed memory. Do that work from a pre-patch callback, or move the "
                          "callee out of __init",
                          site.who, s.name,
                          s.section ? pv_.sec(*s.section).name : std::string("init section of the target")));
}

// A reference into .BTF_ids goes to the running kernel's list (btf_ids.h): a livepatch
// relocation against the list label, whose name does not change between builds, resolved
// like any other symbol of this unit.
void Planner::plan_btf_ids(const Site &site, const elf::Reloc &r, const Target &t) {
  auto place = btf_ids_place(pv_, t);
  if (!place) {
    ctx_.refuse(code::TARGET_SYMBOL_NOT_FOUND, site_loc(site, r.offset),
                fmt::format("{} refers to {}, which is in no BTF id list: it cannot be found in the running kernel",
                            site.who, pv_.describe(t)));
    return;
  }
  if (ctx_.plan.external.has(place->list))
    return;
  const std::string &name = pv_.sym(place->list).name;
  std::optional<SymbolId> orig;
  for (SymbolId o : ov_.obj().symbols.ids())
    if (ov_.facts(o).role == SymRole::Label && ov_.sym(o).name == name && ov_.sym(o).section &&
        ov_.sec(*ov_.sym(o).section).name == BTF_IDS_SECTION)
      orig = o;
  if (!orig) { // check_btf_ids refused a new list already; this is the backstop
    ctx_.refuse(code::BTF_IDS_CHANGED, ctx_.loc_patched(place->list),
                fmt::format("BTF id list {} is not in the original object", name));
    return;
  }
  ExternalRef ref;
  ref.kind = RefKind::Klp;
  ref.objname = ctx_.opt.objname;
  locate(ref, *orig);
  ref.why = fmt::format("BTF id list of {}: only the running kernel's ids are resolved", ref.objname);
  ctx_.plan.external.set(place->list, ref);
}

void Planner::plan_site(const Site &site) {
  for (const elf::Reloc &r : pv_.relocs_in(site.sec, site.start, site.end)) {
    Target t = pv_.resolve(site.sec, r);
    if (in_btf_ids(pv_, t)) {
      plan_btf_ids(site, r, t);
      continue;
    }
    if (t.kind == Target::Kind::String || t.kind == Target::Kind::Anonymous)
      continue; // copied whole, or code/tables handled by their owners
    if (ctx_.incl.has(t.sym)) {
      const auto &inc = ctx_.incl.symbols.get(t.sym);
      bool changed_func = inc->kind == IncludeKind::ChangedFunction;
      if (changed_func && !site.special && !is_call_site(site.sec, r) && !ctx_.plan.original_of.has(t.sym)) {
        ExternalRef ref = decide_original(t.sym);
        ref.why = "address of a changed function: points at the original, which ftrace redirects; " + ref.why;
        ctx_.plan.original_of.set(t.sym, ref);
      }
      continue;
    }
    if (t.kind == Target::Kind::Symbol && pv_.facts(t.sym).role == SymRole::ColdPart)
      continue; // a cold part of a function we do not copy: jumped to only from its parent
    if (!site.special)
      check_init_reference(site, r, t);
    if (!ctx_.plan.external.has(t.sym))
      ctx_.plan.external.set(t.sym, decide(t.sym));
  }
}

void Planner::run() {
  for (const Site &s : sites())
    plan_site(s);
  for (SymbolId s : ctx_.incl.order)
    if (pv_.facts(s).role == SymRole::Function || pv_.facts(s).role == SymRole::ColdPart)
      plan_raw_branches(s);
  // A chunk of out-of-line code is copied alone: a branch the assembler resolved to another
  // place of its section (another chunk) would land elsewhere in the copy.
  for (const IncludedChunk &c : ctx_.incl.chunks)
    for (const disasm::Insn &i : pv_.code(c.sec, c.start, c.end).insns) {
      if (!i.branch_target || !pv_.relocs_in(c.sec, i.offset, i.end()).empty())
        continue;
      if (*i.branch_target < static_cast<i64>(c.start) || *i.branch_target >= static_cast<i64>(c.end))
        ctx_.refuse(code::UNSUPPORTED_RELOCATION,
                    Location(pv_.obj().path).with_section(pv_.sec(c.sec).name, i.offset),
                    fmt::format("out-of-line code at {}+0x{:x} branches to +0x{:x}, outside its chunk "
                                "[0x{:x}, 0x{:x}), without a relocation: the copy could not be pointed at it",
                                pv_.sec(c.sec).name, i.offset, *i.branch_target, c.start, c.end));
    }
  // old_sympos of each function the patch replaces.
  for (SymbolId p : ctx_.incl.order) {
    if (ctx_.incl.symbols.get(p)->kind != IncludeKind::ChangedFunction)
      continue;
    auto o = ctx_.corr.p2o.get(p);
    if (!o)
      continue;
    ExternalRef ref;
    locate(ref, *o);
    ctx_.plan.func_sympos.set(p, ref.sympos);
    // A __weak definition that the running kernel overrides (fs/proc/meminfo.c's empty
    // arch_report_meminfo() loses to arch/x86's): its name in kallsyms is the overriding
    // function, so "patching" it would replace the wrong code.
    const elf::Symbol &os = ov_.sym(*o);
    if (ctx_.target && os.bind == STB_WEAK)
      if (auto idx = ctx_.target->find_global(os.name); idx && ctx_.target->syms()[*idx].size != os.size)
        ctx_.refuse(code::WEAK_OVERRIDDEN, ctx_.loc_orig(*o),
                    fmt::format("{} is a __weak definition that the target overrides with another {} ({} bytes, not "
                                "{}): changing it has no effect; patch the overriding definition instead",
                                os.name, os.name, ctx_.target->syms()[*idx].size, os.size));
  }
  // Special entries must not need module-specific livepatch relocations: those are applied
  // when the module comes, after its jump labels and static calls were set up, so the entry
  // would be read with a zero key (kernel/livepatch/core.c applies .klp.rela.<mod> from
  // klp_module_coming()).
  for (SpecialSelection &sel : ctx_.special) {
    if (!copies_entries(*sel.spec))
      continue;
    std::vector<SpecialEntry> kept;
    for (const SpecialEntry &e : sel.kept) {
      bool drop = false;
      for (const elf::Reloc &r : pv_.relocs_in(sel.sec, e.offset, e.offset + sel.entsize)) {
        Target t = pv_.resolve(sel.sec, r);
        if (t.kind == Target::Kind::String || t.kind == Target::Kind::Anonymous || ctx_.incl.has(t.sym))
          continue;
        auto ref = ctx_.plan.external.get(t.sym);
        if (!ref || ref->kind != RefKind::Klp || ref->objname == "vmlinux")
          continue;
        const std::string &n = pv_.sym(t.sym).name;
        Location loc = Location(pv_.obj().path).with_section(sel.spec->name, e.offset);
        if (e.owner)
          loc = loc.with_symbol(pv_.sym(*e.owner).name);
        if (n.starts_with("__tracepoint_") || n.starts_with("__SCK__tp_func_")) {
          ctx_.diag.warn(loc,
                         fmt::format("tracepoint {} of module {} is dropped from the patched code (its key would be "
                                     "resolved after the module's jump labels are set up)",
                                     n, ref->objname));
          drop = true;
        } else {
          ctx_.refuse(code::MODULE_KEY_IN_SPECIAL_ENTRY, loc,
                      fmt::format("{} entry{} refers to {} in module {}: a livepatch relocation into a module is "
                                  "applied too late for {}. Use static_key_enabled() or a plain call instead",
                                  sel.spec->name, e.owner ? " of " + pv_.sym(*e.owner).name : std::string(), n,
                                  ref->objname, sel.spec->why));
        }
      }
      if (!drop)
        kept.push_back(e);
    }
    sel.kept = std::move(kept);
  }
}

} // namespace

void plan_relocations(DiffContext &ctx) { Planner(ctx).run(); }

} // namespace kpg::diff
