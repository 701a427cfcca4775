// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: check_exports. EXPORT_SYMBOL(foo) in 6.1 is one 12-byte struct kernel_symbol in a
// section of its own, ___ksymtab+foo (___ksymtab_gpl+foo for EXPORT_SYMBOL_GPL), pointing at
// foo, __kstrtab_foo and __kstrtabns_foo (the namespace, "" for none). In 6.12 it is an entry
// of the unit's .export_symbol section, `__export_symbol_foo: .asciz "GPL"; .ascii "ns\0";
// .balign 8; .quad foo`, from which modpost generates the ksymtab at link time. The
// special-section table of either line drops these entries: the running kernel's export of a changed function stays valid --
// modules that call foo through it reach the original, which ftrace redirects to the new foo
// -- and a second export of foo would make the patch module fail to load ("exports duplicate
// symbol"). That is right only while the function's ABI is unchanged, which is what this pass
// checks:
//  - a changed exported function whose genksyms CRC (kbuild appends `#SYMVER foo 0x...` to
//    the unit's .cmd file with CONFIG_MODVERSIONS; Options::orig_crcs / patched_crcs) differs
//    between the two builds is refused: modules built against the running kernel call it with
//    the old prototype or struct layouts. A CRC can also change without a real ABI change: a
//    new #include completes a struct genksyms saw as opaque (the 6.12 fix to
//    net/ipv6/netfilter/nf_reject_ipv6.c adds <net/dst_metadata.h>, and the CRCs of
//    nf_send_reset6/nf_send_unreach6 change). Both units' DWARF tell that case apart
//    (dwarf::function_abis): same prototype, same types, except structs one side only
//    declares; then the change is accepted with a note, otherwise refused;
//  - a new export is refused: a live patch cannot add to the kernel's symbol table for other
//    modules, and the patch module would export it under its own name only while loaded;
//  - an export that changes kind (GPL, namespace) or disappears is left as the running kernel
//    has it, with a warning.
#include <fmt/format.h>
#include <map>

#include "diff/passes.h"
#include "dwarf/dwarf.h"

namespace kpg::diff {
namespace {

// Why two spellings of one function's ABI differ (dwarf::FunctionAbi), if only by completeness:
// the types one side only declares and the other defines ("struct net_generic"), when the
// prototype and every type both sides spell out are the same. nullopt: they differ in
// something else. Empty: they are the same, which explains no CRC change. A type only the
// patched side reaches is fine: a completed struct's members reach new types.
std::optional<std::vector<std::string>> only_completed(const dwarf::FunctionAbi &o, const dwarf::FunctionAbi &p) {
  if (o.prototype != p.prototype)
    return std::nullopt;
  std::vector<std::string> completed;
  for (const auto &[name, layout] : o.aggregates) {
    auto it = p.aggregates.find(name);
    if (it == p.aggregates.end())
      return std::nullopt; // the original reaches a type the patched unit no longer does
    if (it->second == layout)
      continue;
    if (layout != dwarf::FunctionAbi::kOpaque && it->second != dwarf::FunctionAbi::kOpaque)
      return std::nullopt;
    completed.push_back(name);
  }
  return completed;
}

struct Export {
  std::string kind;     // EXPORT_SYMBOL, EXPORT_SYMBOL_GPL, EXPORT_SYMBOL_NS("ns"), ...
  SectionId sec{0};
  std::optional<SymbolId> sym; // the exported function or object
};

std::string name_space(const ObjectView &v, const EntryRef &e) {
  auto rr = v.relocs_in(e.sec, e.offset + 8, e.offset + 12); // namespace_offset
  if (rr.size() != 1)
    return "";
  Target t = v.resolve(e.sec, rr[0]);
  return t.kind == Target::Kind::String && t.offset >= 0 ? std::string(v.string_at(t.sec, static_cast<u64>(t.offset)))
                                                          : std::string();
}

std::string kind_of(bool gpl, const std::string &ns) {
  std::string kind = fmt::format("EXPORT_SYMBOL{}{}", ns.empty() ? "" : "_NS", gpl ? "_GPL" : "");
  if (!ns.empty())
    kind += fmt::format("(\"{}\")", ns);
  return kind;
}

// 6.12's .export_symbol: the name from the label, the license and namespace from the two
// strings that start the entry, the exported symbol from its relocation.
void labelled_exports(const ObjectView &v, const SpecialIndex &idx, const SpecialSection &spec,
                      std::map<std::string, Export> &out) {
  for (SectionId sid : v.special_sections(spec))
    for (const LabelledEntry &le : labelled_entries(v, spec, sid)) {
      const auto &data = v.sec(sid).data;
      auto str = [&](u64 at) {
        std::string r;
        while (at < le.end && at < data.size() && data[at])
          r += static_cast<char>(data[at++]);
        return r;
      };
      std::string license = str(le.start);
      std::string ns = str(le.start + license.size() + 1);
      Export x;
      x.kind = kind_of(license == "GPL", ns);
      x.sec = sid;
      for (const EntryRef &e : idx.entries_in(spec.name))
        if (e.sec == sid && e.offset == le.start && e.owner_target.kind == Target::Kind::Symbol)
          x.sym = e.owner_target.sym;
      out.emplace(v.sym(*le.label).name.substr(spec.entry_label.size()), std::move(x));
    }
}

std::map<std::string, Export> exports_of(const ObjectView &v, const SpecialIndex &idx) {
  std::map<std::string, Export> out;
  for (const SpecialSection &spec : v.table()) {
    if (spec.name == ".export_symbol") {
      labelled_exports(v, idx, spec, out);
      continue;
    }
    if (!spec.name.starts_with("___ksymtab"))
      continue;
    bool gpl = spec.name.starts_with("___ksymtab_gpl");
    for (const EntryRef &e : idx.entries_in(spec.name)) {
      const std::string &secname = v.sec(e.sec).name;
      std::string name = secname.substr(secname.find('+') + 1);
      std::string ns = name_space(v, e);
      Export x;
      x.kind = kind_of(gpl, ns);
      x.sec = e.sec;
      if (e.owner_target.kind == Target::Kind::Symbol)
        x.sym = e.owner_target.sym;
      out.emplace(std::move(name), std::move(x));
    }
  }
  return out;
}

std::string crc_text(const std::optional<std::map<std::string, u32>> &crcs, const std::string &name) {
  if (!crcs)
    return "";
  auto it = crcs->find(name);
  return it == crcs->end() ? "" : fmt::format("0x{:08x}", it->second);
}

} // namespace

void check_exports(DiffContext &ctx) {
  const ObjectView &ov = *ctx.ov, &pv = *ctx.pv;
  std::map<std::string, Export> oexp = exports_of(ov, *ctx.oidx), pexp = exports_of(pv, *ctx.pidx);
  for (const auto &[name, p] : pexp) {
    auto o = oexp.find(name);
    Location loc = Location(pv.obj().path).with_section(pv.sec(p.sec).name);
    if (o == oexp.end()) {
      ctx.refuse(code::NEW_EXPORT, p.sym ? ctx.loc_patched(*p.sym) : loc,
                 fmt::format("{}({}) is new: a live patch cannot add to the kernel's exported symbols (the patch "
                             "module would export {} under its own name, only while it is loaded, and no module "
                             "built against the running kernel knows it). Call it from the patched code without "
                             "exporting it, or ship it in a module of its own",
                             p.kind.substr(0, p.kind.find('(')), name, name));
      continue;
    }
    if (o->second.kind != p.kind)
      ctx.diag.warn(loc, fmt::format("the export of {} changes from {} to {}: the running kernel keeps {}", name,
                                     o->second.kind, p.kind, o->second.kind));
  }
  for (const auto &[name, o] : oexp)
    if (!pexp.count(name))
      ctx.diag.warn(Location(ov.obj().path).with_section(ov.sec(o.sec).name),
                    fmt::format("the patch removes the export of {}: the running kernel keeps exporting it", name));

  // Changed exported functions: same ABI on both sides?
  bool have_crcs = ctx.opt.orig_crcs && ctx.opt.patched_crcs;
  using Abis = std::map<std::string, dwarf::FunctionAbi>;
  using AbiPair = std::pair<const dwarf::FunctionAbi *, const dwarf::FunctionAbi *>;
  std::optional<std::pair<Abis, Abis>> abis; // orig, patched
  auto abi_of = [&](const std::string &name) -> std::optional<AbiPair> {
    if (!abis) {
      // Read once, for every export whose CRC changed: DWARF was released after classify.
      std::vector<std::string> names;
      for (const auto &[n, e] : oexp)
        if (have_crcs && crc_text(ctx.opt.orig_crcs, n) != crc_text(ctx.opt.patched_crcs, n))
          names.push_back(n);
      abis.emplace();
      auto of = ctx.with_debug_info(false);
      auto pf = ctx.with_debug_info(true);
      if (!of || !pf) {
        ctx.notes.push_back("the debug sections could not be read to explain a CRC change: " +
                            (of ? pf.error() : of.error()).str());
      } else {
        auto oa = dwarf::function_abis(**of, names);
        auto pa = dwarf::function_abis(**pf, names);
        if (oa && pa)
          abis.emplace(std::move(*oa), std::move(*pa));
        else
          ctx.notes.push_back("the DWARF of exported functions could not be read to explain a CRC change: " +
                              (oa ? pa.error() : oa.error()).str());
      }
      ctx.release_debug_info();
    }
    auto o = abis->first.find(name);
    auto p = abis->second.find(name);
    if (o == abis->first.end() || p == abis->second.end())
      return std::nullopt;
    return std::pair(&o->second, &p->second);
  };
  for (const auto &[name, o] : oexp) {
    auto p = pexp.find(name);
    if (p == pexp.end() || !p->second.sym)
      continue;
    SymbolId ps = *p->second.sym;
    auto ch = ctx.changes.patched.get(ps);
    if (!ch || ch->status != Status::Changed || pv.facts(ps).role != SymRole::Function)
      continue;
    if (!have_crcs) {
      ctx.notes.push_back(fmt::format("{} is exported ({}) and changed: its ABI was not checked (no genksyms CRCs "
                                      "given; kpatch-gen build passes them from kbuild's .cmd files)",
                                      name, o.kind));
      continue;
    }
    std::string oc = crc_text(ctx.opt.orig_crcs, name), pc = crc_text(ctx.opt.patched_crcs, name);
    if (oc.empty() || pc.empty()) {
      ctx.diag.warn(ctx.loc_patched(ps),
                    fmt::format("{} is exported and changed, but the {} build has no genksyms CRC for it: its ABI was "
                                "not checked",
                                name, oc.empty() ? "original" : "patched"));
      continue;
    }
    if (oc != pc) {
      if (auto both = abi_of(name)) {
        if (auto completed = only_completed(*both->first, *both->second); completed && !completed->empty()) {
          std::string msg = fmt::format(
              "{} is exported and its genksyms CRC changed from {} to {}, but not its ABI: the prototype and every "
              "type it reaches are the same in both units' DWARF, except {}, which one unit only declares and the "
              "other defines (a new #include); the running kernel's export stays",
              name, oc, pc, fmt::join(*completed, ", "));
          ctx.diag.note(ctx.loc_patched(ps), msg);
          ctx.notes.push_back(std::move(msg));
          continue;
        }
      }
      ctx.refuse(code::EXPORTED_ABI_CHANGED, ctx.loc_patched(ps),
                 fmt::format("{} is exported ({}) and its genksyms CRC changed from {} to {}: its prototype, or a type "
                             "it uses, changed, and modules built against the running kernel would call the new code "
                             "with the old ABI. Keep the exported prototype and the structs it reaches unchanged (if "
                             "only a new #include completed a struct genksyms saw as opaque, wrap that include in "
                             "#ifndef __GENKSYMS__)",
                             name, o.kind, oc, pc));
      continue;
    }
    ctx.notes.push_back(fmt::format("{} is exported and changed with the same ABI (CRC {}): the running kernel's "
                                    "export stays, and reaches the new code through ftrace",
                                    name, oc));
  }
}

} // namespace kpg::diff
