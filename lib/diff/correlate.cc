// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: correlate. Finds, for each function and data object of the original object, its twin
// in the patched one. Twins are compared; symbols without a twin are new (patched side) or
// gone (original side).
//
// Rules, from strict to loose:
//  1. Globals match by exact name: the kernel links them by name, so a global that changed
//     name *is* a different symbol.
//  2. Locals match by decoded name (names.h) and role: `count.2` <-> `count.3`,
//     `show_map.isra.0` <-> `show_map.isra.1`. `foo` and `foo.isra.0` are not twins: an IPA
//     clone has another calling convention, so when GCC starts or stops cloning, the callers
//     change and the clone is new (the original `foo` stays in the kernel, unused by the
//     patched callers).
//  3. When several locals share a key (two functions with a `static int count`; or
//     `do_it.constprop.0` and `do_it.constprop.1`), static locals are told apart by the
//     functions that use them -- kernel example: `__print_once` in several functions of
//     kernel/printk/printk.c -- then by identical contents, then by symtab order, and the
//     resolution is noted in the report.
//  4. Fresh statics (__warned, __key, ...) are never correlated by name: the patched code
//     gets its own copy (names.h).
//  5. Objects of tables that code refers to (the __dyndbg descriptors of pr_debug() sites,
//     special_sections.h) are correlated by what their identity fields point at -- function
//     name and format string -- and their order among equals, never by name: the name
//     __UNIQUE_ID_ddebug<__COUNTER__>.<gcc's number> changes when any pr_debug() is added
//     above. They stay fresh statics (each patched function carries its own descriptors); the
//     pairing only lets compare() see that a descriptor did not change, or changed only its
//     line (adding a blank line at the top of arch/x86/kvm/x86.c moves all 100 or so).
#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <map>
#include <string_view>
#include <unordered_map>

#include "diff/passes.h"

namespace kpg::diff {
namespace {

bool correlatable(const ObjectView &v, SymbolId id) {
  const SymFacts &f = v.facts(id);
  if (f.fresh_static)
    return false;
  if (f.role != SymRole::Function && f.role != SymRole::ColdPart && f.role != SymRole::Object)
    return false;
  return v.sym(id).section.has_value();
}

// For each data object (by symbol index): the decoded names of the functions that reference it,
// sorted and unique. Views of the name keys (owned by the ObjectView), not copies: a 10k-function
// unit has ~50k references to objects, and a set of copied strings per object was most of the
// correlate pass.
using ObjectUsers = std::vector<std::vector<std::string_view>>;
ObjectUsers users_of_objects(const ObjectView &v) {
  ObjectUsers users(v.obj().symbols.size());
  for (SymbolId f : v.obj().symbols.ids()) {
    const SymFacts &ff = v.facts(f);
    if (ff.role != SymRole::Function && ff.role != SymRole::ColdPart)
      continue;
    const elf::Symbol &fs = v.sym(f);
    if (!fs.section)
      continue;
    std::string_view user = ff.role == SymRole::ColdPart && ff.parent ? v.facts(*ff.parent).name.key : ff.name.key;
    for (const elf::Reloc &r : v.relocs_in(*fs.section, fs.value, fs.value + fs.size))
      if (auto t = v.target_symbol(*fs.section, r); t && v.facts(*t).role == SymRole::Object)
        users[to_index(*t)].push_back(user);
  }
  for (std::vector<std::string_view> &u : users) {
    std::sort(u.begin(), u.end());
    u.erase(std::unique(u.begin(), u.end()), u.end());
  }
  return users;
}

bool same_bytes(const ObjectView &a, SymbolId x, const ObjectView &b, SymbolId y) {
  const elf::Symbol &sx = a.sym(x), &sy = b.sym(y);
  if (sx.size != sy.size)
    return false;
  const auto &dx = a.sec(*sx.section).data, &dy = b.sec(*sy.section).data;
  if (dx.empty() || dy.empty())
    return dx.empty() && dy.empty();
  if (sx.value + sx.size > dx.size() || sy.value + sy.size > dy.size())
    return false;
  return std::equal(dx.begin() + static_cast<long>(sx.value), dx.begin() + static_cast<long>(sx.value + sx.size),
                    dy.begin() + static_cast<long>(sy.value));
}

class Correlator {
public:
  explicit Correlator(DiffContext &ctx) : ctx_(ctx), ov_(*ctx.ov), pv_(*ctx.pv) {}
  void run();

private:
  void match_group(const std::string &key, std::vector<SymbolId> o, std::vector<SymbolId> p);
  void link_table_objects();
  void link_sections();

  DiffContext &ctx_;
  const ObjectView &ov_, &pv_;
  ObjectUsers ousers_, pusers_;
  bool users_ready_ = false;
};

void Correlator::run() {
  // Lookups by name are hashed on views of the models' strings: a 10k-function unit has tens
  // of thousands of symbols and sections, and ordered maps of copied strings were a third of
  // the run. Anything iterated follows symbol or section ids, so the result stays deterministic.
  // 1. Globals by exact name.
  std::unordered_map<std::string_view, SymbolId> pglobals;
  pglobals.reserve(pv_.obj().symbols.size());
  for (SymbolId id : pv_.obj().symbols.ids())
    if (correlatable(pv_, id) && !pv_.sym(id).is_local())
      pglobals.emplace(pv_.sym(id).name, id);
  for (SymbolId id : ov_.obj().symbols.ids()) {
    if (!correlatable(ov_, id) || ov_.sym(id).is_local())
      continue;
    auto it = pglobals.find(ov_.sym(id).name);
    if (it != pglobals.end() && ov_.facts(id).role == pv_.facts(it->second).role)
      ctx_.corr.link(id, it->second);
  }
  // A global that became static (or the reverse) keeps its name: still the same symbol.
  std::unordered_map<std::string_view, SymbolId> plocals_exact;
  for (SymbolId id : pv_.obj().symbols.ids())
    if (correlatable(pv_, id) && pv_.sym(id).is_local())
      plocals_exact.emplace(pv_.sym(id).name, id);
  for (SymbolId id : ov_.obj().symbols.ids()) {
    if (!correlatable(ov_, id) || ctx_.corr.o2p.has(id))
      continue;
    const std::string &n = ov_.sym(id).name;
    SymbolId other{0};
    if (ov_.sym(id).is_local()) {
      auto it = pglobals.find(n);
      if (it == pglobals.end() || ctx_.corr.p2o.has(it->second))
        continue;
      other = it->second;
    } else {
      auto it = plocals_exact.find(n);
      if (it == plocals_exact.end())
        continue;
      other = it->second;
    }
    if (ov_.facts(id).role == pv_.facts(other).role) {
      ctx_.corr.link(id, other);
      ctx_.corr.notes.push_back(fmt::format("{}: binding changed between {} and {}", n,
                                            elf::symbol_bind_name(ov_.sym(id).bind),
                                            elf::symbol_bind_name(pv_.sym(other).bind)));
    }
  }
  // 2./3. Locals by (FILE block, role, decoded key), groups in order of first appearance. The
  // FILE block matters in an object linked from several units (`ld -r`, a composite module
  // object): each unit's `static int helper()` is its own function. Blocks are matched by
  // position when both objects have as many (a unit has one, whatever its FILE symbol says),
  // else by their key (file name, and order among same-named blocks).
  struct Group {
    std::string_view key;
    std::vector<SymbolId> o, p;
  };
  std::vector<Group> groups;
  std::unordered_map<std::string_view, u32> block_ids; // FILE block key -> id, for both objects
  bool by_position = ov_.file_blocks() == pv_.file_blocks();
  using PerRole = std::array<std::unordered_map<std::string_view, size_t>, 16>;
  std::vector<PerRole> group_of; // by block id, then SymRole
  auto group = [&](const ObjectView &v, SymbolId id) -> Group & {
    const SymFacts &f = v.facts(id);
    u32 b = by_position ? f.file_block
                        : block_ids.emplace(v.file_block_key(f.file_block), static_cast<u32>(block_ids.size())).first->second;
    if (b >= group_of.size())
      group_of.resize(b + 1);
    auto [it, fresh] = group_of[b][static_cast<size_t>(f.role)].emplace(f.name.key, groups.size());
    if (fresh)
      groups.push_back(Group{f.name.key, {}, {}});
    return groups[it->second];
  };
  for (SymbolId id : ov_.obj().symbols.ids())
    if (correlatable(ov_, id) && ov_.sym(id).is_local() && !ctx_.corr.o2p.has(id))
      group(ov_, id).o.push_back(id);
  for (SymbolId id : pv_.obj().symbols.ids())
    if (correlatable(pv_, id) && pv_.sym(id).is_local() && !ctx_.corr.p2o.has(id))
      group(pv_, id).p.push_back(id);
  for (Group &g : groups)
    if (!g.o.empty() && !g.p.empty())
      match_group(std::string(g.key), std::move(g.o), std::move(g.p));
  link_table_objects();
  link_sections();
}

// What a pointer field of a table entry points at, as text: a string literal, or the
// contents of a fresh static such as __func__.12 ("kvm_set_msr_common").
std::string pointed_text(const ObjectView &v, SectionId sec, u64 field) {
  auto rr = v.relocs_in(sec, field, field + 8);
  if (rr.size() != 1)
    return "";
  Target t = v.resolve(sec, rr[0]);
  std::optional<SectionId> tsec;
  i64 off = t.offset;
  if (t.kind == Target::Kind::String || t.kind == Target::Kind::Anonymous) {
    tsec = t.sec;
  } else if (t.kind == Target::Kind::Symbol) {
    tsec = v.sym(t.sym).section;
    off += static_cast<i64>(v.sym(t.sym).value);
  }
  if (!tsec || off < 0 || v.sec(*tsec).is_nobits())
    return v.describe(t);
  return std::string(v.string_at(*tsec, static_cast<u64>(off)));
}

void Correlator::link_table_objects() {
  for (const SpecialSection &spec : ov_.table()) {
    if (spec.policy != SpecialPolicy::Objects || spec.identity_fields.empty())
      continue;
    // Identity (the identity fields' texts, NUL-separated) -> objects in section order.
    auto collect = [&](const ObjectView &v) {
      std::map<std::string, std::vector<SymbolId>> by_id;
      for (SectionId sec : v.special_sections(spec))
        for (SymbolId s : v.symbols_in(sec)) {
          if (v.facts(s).role != SymRole::Object)
            continue;
          std::string id;
          for (u64 f : spec.identity_fields)
            id += pointed_text(v, sec, v.sym(s).value + f) + '\0';
          by_id[id].push_back(s);
        }
      return by_id;
    };
    auto o = collect(ov_), p = collect(pv_);
    size_t linked = 0, unpaired = 0;
    for (auto &[id, os] : o) {
      auto it = p.find(id);
      size_t n = it == p.end() ? 0 : std::min(os.size(), it->second.size());
      for (size_t k = 0; k < n; k++)
        if (!ctx_.corr.o2p.has(os[k]) && !ctx_.corr.p2o.has(it->second[k])) {
          ctx_.corr.link(os[k], it->second[k]);
          linked++;
        }
      unpaired += os.size() - n;
    }
    if (linked || unpaired)
      ctx_.corr.notes.push_back(fmt::format("{}: {} entries paired by {} and order, {} of the original without a twin",
                                            spec.name, linked, spec.identity_what, unpaired));
  }
}

void Correlator::match_group(const std::string &key, std::vector<SymbolId> o, std::vector<SymbolId> p) {
  if (o.size() == 1 && p.size() == 1) {
    ctx_.corr.link(o[0], p[0]);
    return;
  }
  bool objects = ov_.facts(o[0]).role == SymRole::Object;
  std::vector<bool> ptaken(p.size(), false), otaken(o.size(), false);
  auto take = [&](size_t i, size_t j) {
    ctx_.corr.link(o[i], p[j]);
    otaken[i] = ptaken[j] = true;
  };
  if (objects) {
    if (!users_ready_) {
      ousers_ = users_of_objects(ov_);
      pusers_ = users_of_objects(pv_);
      users_ready_ = true;
    }
    for (size_t i = 0; i < o.size(); i++) {
      const auto &ou = ousers_[to_index(o[i])];
      if (ou.empty())
        continue;
      std::vector<size_t> hits;
      for (size_t j = 0; j < p.size(); j++)
        if (!ptaken[j] && pusers_[to_index(p[j])] == ou)
          hits.push_back(j);
      if (hits.size() == 1)
        take(i, hits[0]);
    }
  }
  // Identical contents (clones that did not change, statics with distinct initializers).
  for (size_t i = 0; i < o.size(); i++) {
    if (otaken[i])
      continue;
    std::vector<size_t> hits;
    for (size_t j = 0; j < p.size(); j++)
      if (!ptaken[j] && same_bytes(ov_, o[i], pv_, p[j]))
        hits.push_back(j);
    if (hits.size() == 1)
      take(i, hits[0]);
  }
  // Whatever is left: symtab order (GCC numbers clones and statics in source order).
  size_t j = 0;
  std::vector<std::string> paired;
  bool renamed = false; // only worth a note when order paired different names
  for (size_t i = 0; i < o.size(); i++) {
    if (otaken[i])
      continue;
    while (j < p.size() && ptaken[j])
      j++;
    if (j == p.size())
      break;
    paired.push_back(ov_.sym(o[i]).name + "<->" + pv_.sym(p[j]).name);
    renamed |= ov_.sym(o[i]).name != pv_.sym(p[j]).name;
    take(i, j);
  }
  if (renamed)
    ctx_.corr.notes.push_back(fmt::format("{} symbols share the name key '{}'; paired by order: {}", o.size() + p.size(),
                                          key, fmt::join(paired, ", ")));
}

void Correlator::link_sections() {
  // Sections of twin bundled symbols are twins (.text.foo <-> .text.foo; .bss.count.2 <->
  // .bss.count.3); other sections by exact name when unique on both sides (.rodata.str1.1,
  // .rodata.cst16, .data..once, .sched.text).
  for (SymbolId o : ov_.obj().symbols.ids()) {
    auto p = ctx_.corr.o2p.get(o);
    if (!p || !ov_.facts(o).bundled || !pv_.facts(*p).bundled)
      continue;
    ctx_.corr.link_sections(*ov_.sym(o).section, *pv_.sym(*p).section);
  }
  // One table for both sides, of the names of sections still without a twin: the others
  // (half of a function-sections unit's, its .text.<fn>) are only counted, by lookups. Three
  // growing maps were half of this pass, then one map of every name a sixth of the whole diff.
  struct Names {
    int o = 0, p = 0;
    SectionId pid{0};
  };
  std::unordered_map<std::string_view, Names> byname;
  byname.reserve(ov_.obj().sections.size() + pv_.obj().sections.size());
  for (SectionId id : ov_.obj().sections.ids())
    if (!ctx_.corr.sec_o2p.has(id))
      byname.try_emplace(ov_.sec(id).name);
  for (SectionId id : pv_.obj().sections.ids())
    if (!ctx_.corr.sec_p2o.has(id))
      byname.try_emplace(pv_.sec(id).name);
  for (const elf::Section &s : ov_.obj().sections)
    if (auto it = byname.find(s.name); it != byname.end())
      it->second.o++;
  for (SectionId id : pv_.obj().sections.ids()) {
    if (auto it = byname.find(pv_.sec(id).name); it != byname.end() && it->second.p++ == 0)
      it->second.pid = id;
  }
  for (SectionId id : ov_.obj().sections.ids()) {
    if (ctx_.corr.sec_o2p.has(id))
      continue;
    const Names &n = byname.find(ov_.sec(id).name)->second;
    if (n.o == 1 && n.p == 1 && !ctx_.corr.sec_p2o.has(n.pid))
      ctx_.corr.link_sections(id, n.pid);
  }
}

} // namespace

void correlate(DiffContext &ctx) { Correlator(ctx).run(); }

} // namespace kpg::diff
