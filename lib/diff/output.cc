// SPDX-License-Identifier: GPL-2.0-only
//
// Pass: build_output. Assembles the diff object from the decisions of the earlier passes:
//   - each included function or object is copied with its bytes and relocations; one that
//     had a section of its own keeps it (".text.cmdline_proc_show"), one that shared a
//     section gets "<section>.<name>" so that it can be placed independently;
//   - whole sections (string literals, constant pools) are copied as they are;
//   - special sections hold only the kept entries, re-pointed at the copies;
//   - references outside the output become undefined symbols (normal relocations) or
//     livepatch relocation records (klp_format.h), with the field zeroed;
//   - raw branches from functions copied out of shared sections get relocations, since the
//     neighbour they reach is no longer next to them;
//   - global aliases name the replacement functions and callbacks for the module generator.
// The result is deterministic: everything is emitted in symbol-id order of the patched object.
#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <unordered_map>

#include "diff/btf_ids.h"
#include "diff/klp_format.h"
#include "diff/passes.h"

namespace kpg::diff {
namespace {

struct Range {
  SectionId src;
  u64 start, end;   // in the patched section
  SectionId out;
  u64 out_start;    // where `start` lands in the output section
};

class Builder {
public:
  explicit Builder(DiffContext &ctx) : ctx_(ctx), pv_(*ctx.pv), out_(ctx.out) {}
  void run();

private:
  SectionId new_section(const elf::Section &like, std::string name);
  SymbolId section_symbol(SectionId out);
  bool gathered(SymbolId p) const;
  std::pair<u64, u64> copied_range(SymbolId p) const;
  void copy_symbol(SymbolId s);
  void copy_whole_section(SectionId s);
  std::vector<Range> copy_chunks();
  void copy_special(const SpecialSelection &sel);
  void copy_relocs(SectionId src, u64 start, u64 end, SectionId out, u64 out_start, bool special);
  void add_raw_branch_relocs(SymbolId s);
  void rewrite_runtime_consts();
  void emit_reference(SectionId out, u64 out_off, u32 type, SymbolId target, i64 addend, const std::string &site);
  std::optional<std::pair<SectionId, u64>> map_location(SectionId src, u64 off) const;
  SymbolId undefined_symbol(const std::string &name, u8 bind);
  void add_aliases();
  void emit_klp_table();

  DiffContext &ctx_;
  const ObjectView &pv_;
  elf::ObjectFile &out_;
  // Where each copied range of a patched section went, by source section (in copy order):
  // looked up for every relocation of the output.
  std::unordered_map<u32, std::vector<Range>> ranges_;
  void add_range(const Range &r) { ranges_[to_index(r.src)].push_back(r); }
  std::map<u32, SymbolId> out_sym_;        // patched SymbolId -> output symbol
  std::map<u32, SymbolId> sec_sym_;        // output SectionId -> its STT_SECTION symbol
  std::map<std::string, SymbolId> undef_;  // undefined symbols by name
  struct PendingKlp {
    SectionId sec;
    u64 off;
    u32 type;
    std::string symname;
    i64 addend;
  };
  std::vector<PendingKlp> klp_;
  std::map<std::string, int> section_names_;
  std::map<std::string, SectionId> gathered_; // table name -> its output section (gathered())
};

SectionId Builder::new_section(const elf::Section &like, std::string name) {
  // Names must be unique: two objects out of one shared section ".data..once" become
  // ".data..once.__already_done.3" and ".data..once.__already_done.7".
  int &n = section_names_[name];
  if (n++ > 0)
    name += fmt::format(".{}", n);
  elf::Section s;
  s.name = std::move(name);
  s.type = like.type;
  s.flags = like.flags & ~static_cast<u64>(SHF_GROUP);
  s.addralign = like.addralign;
  s.entsize = like.entsize;
  return out_.add_section(std::move(s));
}

SymbolId Builder::section_symbol(SectionId out) {
  auto it = sec_sym_.find(to_index(out));
  if (it != sec_sym_.end())
    return it->second;
  elf::Symbol s;
  s.type = STT_SECTION;
  s.bind = STB_LOCAL;
  s.section = out;
  SymbolId id = out_.add_symbol(std::move(s));
  sec_sym_[to_index(out)] = id;
  return id;
}

SymbolId Builder::undefined_symbol(const std::string &name, u8 bind) {
  auto it = undef_.find(name);
  if (it != undef_.end())
    return it->second;
  elf::Symbol s;
  s.name = name;
  s.bind = bind;
  s.type = STT_NOTYPE;
  SymbolId id = out_.add_symbol(std::move(s));
  undef_[name] = id;
  return id;
}

std::optional<std::pair<SectionId, u64>> Builder::map_location(SectionId src, u64 off) const {
  auto it = ranges_.find(to_index(src));
  if (it == ranges_.end())
    return std::nullopt;
  // A range that contains `off` first; only then one that ends there (a pointer to the end of
  // an object). Two functions copied out of one shared section are adjacent: the start of the
  // second is the end of the first, and must map into the second's copy.
  for (const Range &r : it->second)
    if (off >= r.start && off < r.end)
      return std::make_pair(r.out, r.out_start + (off - r.start));
  for (const Range &r : it->second)
    if (off == r.end)
      return std::make_pair(r.out, r.out_start + (off - r.start));
  return std::nullopt;
}

// The objects of a table of objects (a __dyndbg descriptor) go into one output section of
// the table's name: the module loader finds the descriptors as section "__dyndbg" and
// registers them (dynamic_debug_setup()). Other symbols get a section of their own.
bool Builder::gathered(SymbolId p) const {
  const SpecialSection *t = pv_.find_special(pv_.sec(*pv_.sym(p).section).name);
  return t && t->policy == SpecialPolicy::Objects;
}

std::pair<u64, u64> Builder::copied_range(SymbolId p) const {
  const elf::Symbol &s = pv_.sym(p);
  if (pv_.facts(p).bundled && !gathered(p))
    return {0, pv_.sec(*s.section).size};
  return {s.value, s.value + s.size};
}

void Builder::copy_symbol(SymbolId p) {
  const elf::Symbol &s = pv_.sym(p);
  const elf::Section &src = pv_.sec(*s.section);
  auto [start, end] = copied_range(p);
  SectionId out;
  u64 at = 0;
  if (gathered(p)) {
    auto [it, fresh] = gathered_.emplace(src.name, SectionId{0});
    if (fresh)
      it->second = new_section(src, src.name);
    out = it->second;
    elf::Section &os = out_.sections[out];
    u64 align = std::max<u64>(src.addralign, 1);
    at = (os.size + align - 1) / align * align;
    os.data.resize(at, 0);
    os.data.insert(os.data.end(), src.data.begin() + static_cast<long>(start), src.data.begin() + static_cast<long>(end));
    os.size = os.data.size();
  } else {
    out = new_section(src, pv_.facts(p).bundled ? src.name : src.name + "." + s.name);
    elf::Section &os = out_.sections[out];
    os.size = end - start;
    if (!src.is_nobits())
      os.data.assign(src.data.begin() + static_cast<long>(start), src.data.begin() + static_cast<long>(end));
  }
  add_range(Range{*s.section, start, end, out, at});
  section_symbol(out);
  elf::Symbol copy = s;
  copy.section = out;
  copy.value = at + (s.value - start);
  // A replaced function must not be global in the module: two patched units may both replace
  // a function of the same name (or the module could export it by accident); the module
  // generator reaches it through its alias.
  const auto &inc = ctx_.incl.symbols.get(p);
  if (inc && inc->kind == IncludeKind::ChangedFunction)
    copy.bind = STB_LOCAL;
  out_sym_[to_index(p)] = out_.add_symbol(std::move(copy));
}

void Builder::copy_whole_section(SectionId p) {
  const elf::Section &src = pv_.sec(p);
  SectionId out = new_section(src, src.name);
  elf::Section &os = out_.sections[out];
  os.size = src.size;
  os.data = src.data;
  add_range(Range{p, 0, src.size, out, 0});
  section_symbol(out);
}

// Out-of-line code of included functions (code_chunks.h): the chunks taken from one section
// (.fixup) are laid out back to back in one output section of that name.
std::vector<Range> Builder::copy_chunks() {
  std::vector<Range> out;
  std::map<u32, SectionId> by_source;
  for (const IncludedChunk &c : ctx_.incl.chunks) {
    const elf::Section &src = pv_.sec(c.sec);
    auto it = by_source.find(to_index(c.sec));
    if (it == by_source.end())
      it = by_source.emplace(to_index(c.sec), new_section(src, src.name)).first;
    elf::Section &os = out_.sections[it->second];
    u64 at = os.data.size();
    os.data.insert(os.data.end(), src.data.begin() + static_cast<long>(c.start), src.data.begin() + static_cast<long>(c.end));
    os.size = os.data.size();
    Range r{c.sec, c.start, c.end, it->second, at};
    add_range(r);
    out.push_back(r);
    section_symbol(it->second);
  }
  return out;
}

// A reference from the output to patched symbol `target` (+addend, as it will be written).
void Builder::emit_reference(SectionId out, u64 out_off, u32 type, SymbolId target, i64 addend, const std::string &site) {
  auto local = out_sym_.find(to_index(target));
  if (local != out_sym_.end()) {
    out_.sections[out].relocs.push_back(elf::Reloc{out_off, type, local->second, addend});
    return;
  }
  auto ref = ctx_.plan.external.get(target);
  if (!ref) {
    ctx_.refuse(code::INTERNAL, Location(ctx_.opt.patched_path).with_section(site),
                fmt::format("no decision for the reference to {}", pv_.name(target)));
    return;
  }
  if (ref->kind == RefKind::Normal) {
    u8 bind = pv_.sym(target).bind == STB_WEAK ? STB_WEAK : STB_GLOBAL;
    out_.sections[out].relocs.push_back(elf::Reloc{out_off, type, undefined_symbol(ref->name, bind), addend});
    return;
  }
  klp_.push_back(PendingKlp{out, out_off, type, klp_sym_name(ref->objname, ref->name, ref->sympos), addend});
  ctx_.out_info.klp_relocs.push_back(KlpRelocRecord{out_.sections[out].name, out_off, type, ref->name, ref->objname,
                                                    ref->sympos, addend, ref->why});
}

void Builder::copy_relocs(SectionId src, u64 start, u64 end, SectionId out, u64 out_start, bool special) {
  for (const elf::Reloc &r : pv_.relocs_in(src, start, end)) {
    u64 out_off = out_start + (r.offset - start);
    std::string site = fmt::format("{}+0x{:x}", out_.sections[out].name, out_off);
    Target t = pv_.resolve(src, r);
    // Zero the field: a RELA consumer ignores it, and 6.1 refuses non-zero livepatch targets.
    auto &d = out_.sections[out].data;
    for (u64 w = 0; w < elf::x86_64_reloc_width(r.type) && out_off + w < d.size(); w++)
      d[out_off + w] = 0;
    i64 addend = t.offset - t.bias;
    // .BTF_ids: the running kernel's list (plan_relocations decided the list label).
    if (in_btf_ids(pv_, t)) {
      if (auto place = btf_ids_place(pv_, t))
        emit_reference(out, out_off, r.type, place->list, static_cast<i64>(place->offset) - t.bias, site);
      continue;
    }
    switch (t.kind) {
    case Target::Kind::String:
    case Target::Kind::Anonymous: {
      auto loc = t.offset >= 0 ? map_location(t.sec, static_cast<u64>(t.offset)) : std::nullopt;
      if (!loc) {
        if (pv_.sec(t.sec).name == ".altinstr_aux") {
          ctx_.notes.push_back(fmt::format("{}: reference into .altinstr_aux left for apply_alternatives()", site));
          continue;
        }
        ctx_.refuse(code::INTERNAL, Location(ctx_.opt.patched_path).with_section(site),
                    fmt::format("reference to {} which is not in the output", pv_.describe(t)));
        continue;
      }
      out_.sections[out].relocs.push_back(
          elf::Reloc{out_off, r.type, section_symbol(loc->first), static_cast<i64>(loc->second) - t.bias});
      break;
    }
    case Target::Kind::Symbol:
    case Target::Kind::Undefined: {
      // The address of a changed function, taken by copied code or data, stays the original's.
      if (!special && ctx_.plan.original_of.has(t.sym)) {
        const disasm::Insn *i = pv_.sec(src).is_exec() ? pv_.insn_at(src, r.offset) : nullptr;
        bool call = i && i->is_branch() && i->branch_target && r.offset + 4 == i->end();
        if (!call) {
          ExternalRef ref = *ctx_.plan.original_of.get(t.sym);
          if (ref.kind == RefKind::Normal) {
            out_.sections[out].relocs.push_back(elf::Reloc{out_off, r.type, undefined_symbol(ref.name, STB_GLOBAL), addend});
          } else {
            klp_.push_back(PendingKlp{out, out_off, r.type, klp_sym_name(ref.objname, ref.name, ref.sympos), addend});
            ctx_.out_info.klp_relocs.push_back(KlpRelocRecord{out_.sections[out].name, out_off, r.type, ref.name,
                                                              ref.objname, ref.sympos, addend, ref.why});
          }
          break;
        }
      }
      emit_reference(out, out_off, r.type, t.sym, addend, site);
      break;
    }
    }
  }
}

void Builder::add_raw_branch_relocs(SymbolId p) {
  std::vector<ObjectView::RawBranch> branches = pv_.raw_branches_out(p);
  if (branches.empty())
    return;
  const elf::Symbol &s = pv_.sym(p);
  auto loc = map_location(*s.section, s.value);
  SectionId out = loc->first;
  for (const ObjectView::RawBranch &b : branches) {
    if (!b.dest)
      continue; // refused by plan_relocations
    const disasm::Insn &i = *b.insn;
    SymbolId dst = *b.dest;
    if (i.branch_disp_size != 4) {
      ctx_.refuse(code::UNSUPPORTED_RELOCATION, ctx_.loc_patched(p, i.offset - s.value),
                  fmt::format("short jump to {} in another function of the shared section {} cannot be relocated",
                              pv_.name(dst), pv_.sec(*s.section).name));
      continue;
    }
    u64 field = i.end() - 4;
    u64 out_off = loc->second + (field - s.value);
    auto &d = out_.sections[out].data;
    if (out_off + 4 > d.size()) {
      ctx_.refuse(code::INTERNAL, ctx_.loc_patched(p, i.offset - s.value),
                  fmt::format("branch field at +0x{:x} falls outside the copy {}", out_off, out_.sections[out].name));
      continue;
    }
    std::memset(d.data() + out_off, 0, 4);
    i64 addend = (b.target - static_cast<i64>(pv_.sym(dst).value)) - 4;
    emit_reference(out, out_off, R_X86_64_PC32, dst, addend, pv_.sym(p).name);
  }
}

// Runtime constants (6.11+, arch/x86/include/asm/runtime-const.h): vmlinux code reads a
// boot-time constant as `movabs $0x0123456789abcdef, %reg`, and the 4-byte entries of section
// runtime_ptr_<sym> point at each placeholder; at boot runtime_const_init() writes <sym>'s
// value over them. Nothing does that for a module (modules are built with
// `#define runtime_const_ptr(sym) (sym)`, uaccess_64.h), so a copy of such a function would
// compare user pointers against 0x0123456789abcdef: in 6.12 that is every access_ok() in
// vmlinux (valid_user_address() reads runtime_const_ptr(USER_PTR_MAX)), e.g. ptrace_request()
// of kernel/ptrace.c. The copy gets what the module build would have made of it instead: a
// load of the variable, `mov <sym>(%rip), %reg` (7 bytes) and a 3-byte NOP in the 10 bytes of
// the movabs, with a PC32 relocation to <sym>, resolved by the module loader (USER_PTR_MAX is
// exported). The variable is set before runtime_const_init() and not written after boot.
// The table itself is not carried. A <sym> defined in the unit (fs/dcache.c's static
// dentry_hashtable) would need a livepatch relocation and is refused.
void Builder::rewrite_runtime_consts() {
  static const std::string prefix = "runtime_ptr_";
  for (SectionId sid : pv_.obj().sections.ids()) {
    const elf::Section &tab = pv_.sec(sid);
    if (!tab.name.starts_with(prefix))
      continue;
    std::string var = tab.name.substr(prefix.size());
    for (const elf::Reloc &r : pv_.relocs_of(sid)) {
      const elf::Symbol &rs = pv_.sym(r.sym);
      if (!rs.section || r.type != R_X86_64_PC32)
        continue;
      // `.long 1b - 8 - .`: S + A is the placeholder, the movabs's last 8 bytes.
      i64 at = static_cast<i64>(rs.value) + r.addend;
      if (at < 2)
        continue;
      auto loc = map_location(*rs.section, static_cast<u64>(at));
      if (!loc)
        continue; // an entry for code the patch does not copy: the kernel's own, already set
      Location where = Location(ctx_.opt.patched_path).with_section(tab.name, r.offset);
      std::vector<u8> &d = out_.sections[loc->first].data;
      u64 o = loc->second;
      u64 imm = 0;
      for (int b = 7; o + 8 <= d.size() && b >= 0; b--)
        imm = imm << 8 | d[o + b];
      if (o < 2 || o + 8 > d.size() || (d[o - 2] & 0xfe) != 0x48 || d[o - 1] < 0xb8 || d[o - 1] > 0xbf ||
          imm != 0x0123456789abcdefull) {
        ctx_.refuse(code::UNSUPPORTED_SPECIAL_SECTION, where,
                    fmt::format("the entry points at {}+0x{:x}, which is not the movabs of a runtime constant "
                                "(REX.W B8+r with the placeholder 0x0123456789abcdef): cannot rewrite it into a load "
                                "of {}",
                                out_.sections[loc->first].name, o, var));
        continue;
      }
      if (auto def = pv_.obj().find_symbol(var); def && pv_.sym(*def).section) {
        ctx_.refuse(code::UNSUPPORTED_SPECIAL_SECTION, where,
                    fmt::format("the runtime constant {} is defined in this unit, so the copy's load of it would "
                                "need a livepatch relocation, which is not supported for runtime constants",
                                var));
        continue;
      }
      u8 reg = d[o - 1] - 0xb8;
      u8 rex = 0x48 | ((d[o - 2] & 1) << 2); // REX.B (r8-r15 in the opcode) becomes REX.R (in ModRM)
      u64 insn = o - 2;
      const u8 load[10] = {rex, 0x8b, static_cast<u8>(0x05 | reg << 3), 0, 0, 0, 0, 0x0f, 0x1f, 0x00};
      std::copy(std::begin(load), std::end(load), d.begin() + static_cast<std::ptrdiff_t>(insn));
      out_.sections[loc->first].relocs.push_back(
          elf::Reloc{insn + 3, R_X86_64_PC32, undefined_symbol(var, STB_GLOBAL), -4});
      ctx_.notes.push_back(fmt::format("{}+0x{:x}: runtime constant {} read from the variable (movabs of the boot-time "
                                       "placeholder rewritten to mov {}(%rip), then a 3-byte NOP)",
                                       out_.sections[loc->first].name, insn, var, var));
    }
  }
}

void Builder::copy_special(const SpecialSelection &sel) {
  if (sel.kept.empty() || !copies_entries(*sel.spec))
    return;
  const elf::Section &src = pv_.sec(sel.sec);
  // .altinstr_replacement chunks first: the table's repl_offset fields point into them.
  if (!sel.aux_kept.empty()) {
    if (auto repl = pv_.find_section(sel.spec->aux_section)) {
      SectionId out = new_section(pv_.sec(*repl), pv_.sec(*repl).name);
      std::vector<Range> chunks;
      for (auto [a, b] : sel.aux_kept) {
        if (map_location(*repl, a) && map_location(*repl, b))
          continue; // two entries sharing one replacement
        elf::Section &os = out_.sections[out];
        u64 at = os.data.size();
        os.data.insert(os.data.end(), pv_.sec(*repl).data.begin() + static_cast<long>(a),
                       pv_.sec(*repl).data.begin() + static_cast<long>(b));
        os.size = os.data.size();
        add_range(Range{*repl, a, b, out, at});
        chunks.push_back(Range{*repl, a, b, out, at});
        section_symbol(out);
      }
      // Replacement code has relocations of its own: ALTERNATIVE_CALL() / alternative_call_2()
      // (e.g. clear_page_rep vs clear_page_erms in clear_page()) put a `call` in the
      // replacement. Without them apply_alternatives() would write a call to the next
      // instruction. It is code like a function body, so the function-pointer rule applies.
      for (const Range &c : chunks)
        copy_relocs(c.src, c.start, c.end, c.out, c.out_start, false);
    }
  }
  SectionId out = new_section(src, src.name);
  std::vector<std::pair<u64, u64>> entries; // (src offset, out offset)
  for (const SpecialEntry &e : sel.kept) {
    elf::Section &os = out_.sections[out];
    u64 at = os.data.size();
    os.data.insert(os.data.end(), src.data.begin() + static_cast<long>(e.offset),
                   src.data.begin() + static_cast<long>(e.offset + sel.entsize));
    os.size = os.data.size();
    entries.emplace_back(e.offset, at);
  }
  for (auto [so, oo] : entries)
    copy_relocs(sel.sec, so, so + sel.entsize, out, oo, true);
  // .orc_unwind: entry i belongs to .orc_unwind_ip entry i and has no relocations.
  if (!sel.aux_kept.empty() || sel.spec->aux_section.empty() || !sel.spec->aux_entry_size)
    return;
  auto aux = pv_.find_section(sel.spec->aux_section);
  if (!aux)
    return;
  u64 auxsize = ctx_.entry_sizes[sel.spec->aux_section].size;
  SectionId aout = new_section(pv_.sec(*aux), pv_.sec(*aux).name);
  elf::Section &as = out_.sections[aout];
  for (const SpecialEntry &e : sel.kept) {
    u64 idx = e.offset / sel.entsize;
    const auto &ad = pv_.sec(*aux).data;
    as.data.insert(as.data.end(), ad.begin() + static_cast<long>(idx * auxsize),
                   ad.begin() + static_cast<long>((idx + 1) * auxsize));
  }
  as.size = as.data.size();
}

void Builder::add_aliases() {
  for (SymbolId p : ctx_.incl.order) {
    const auto &inc = ctx_.incl.symbols.get(p);
    if (inc->kind != IncludeKind::ChangedFunction)
      continue;
    auto o = ctx_.corr.p2o.get(p);
    std::string old_name = o ? ctx_.ov->sym(*o).name : pv_.sym(p).name;
    u64 sympos = ctx_.plan.func_sympos.get(p).value_or(0);
    std::string alias = new_func_alias(ctx_.opt.objname, old_name, sympos);
    elf::Symbol a = out_.symbols[out_sym_[to_index(p)]];
    a.name = alias;
    a.bind = STB_GLOBAL;
    a.other = STV_DEFAULT;
    out_.add_symbol(std::move(a));
    ctx_.out_info.functions.push_back(PatchedFunction{p, old_name, sympos, alias});
  }
  std::map<CallbackKind, int> kinds;
  for (Callback &cb : ctx_.callbacks) {
    if (kinds[cb.kind]++ > 0) {
      ctx_.refuse(code::BAD_CALLBACK, ctx_.loc_patched(cb.func),
                  fmt::format("a second {} callback in one object: livepatch runs one callback of each kind per object",
                              callback_kind_name(cb.kind)));
      continue;
    }
    cb.alias = callback_alias(ctx_.opt.objname, cb.kind);
    elf::Symbol a = out_.symbols[out_sym_[to_index(cb.func)]];
    a.name = cb.alias;
    a.bind = STB_GLOBAL;
    out_.add_symbol(std::move(a));
  }
}

void Builder::emit_klp_table() {
  if (klp_.empty())
    return;
  elf::Section s;
  s.name = KLP_RELOCS_SECTION;
  s.type = SHT_PROGBITS;
  s.flags = 0;
  s.addralign = 8;
  SectionId tab = out_.add_section(std::move(s));
  elf::Section &t = out_.sections[tab];
  t.data.resize(klp_.size() * KLP_RELOC_RECORD_SIZE, 0);
  t.size = t.data.size();
  std::map<std::string, SymbolId> klpsyms;
  for (size_t i = 0; i < klp_.size(); i++) {
    const PendingKlp &k = klp_[i];
    u64 base = i * KLP_RELOC_RECORD_SIZE;
    std::memcpy(t.data.data() + base + 16, &k.type, 4);
    SymbolId ks;
    if (auto it = klpsyms.find(k.symname); it != klpsyms.end()) {
      ks = it->second;
    } else {
      elf::Symbol sym;
      sym.name = k.symname;
      sym.bind = STB_WEAK; // modpost ignores unresolved weak symbols
      sym.type = STT_NOTYPE;
      ks = out_.add_symbol(std::move(sym));
      klpsyms[k.symname] = ks;
    }
    SymbolId place = section_symbol(k.sec);
    out_.sections[tab].relocs.push_back(elf::Reloc{base, R_X86_64_64, place, static_cast<i64>(k.off)});
    out_.sections[tab].relocs.push_back(elf::Reloc{base + 8, R_X86_64_64, ks, k.addend});
    if (ctx_.opt.objtool_at_link)
      out_.sections[k.sec].relocs.push_back(elf::Reloc{k.off, k.type, ks, k.addend});
  }
}

void Builder::run() {
  out_ = elf::ObjectFile{};
  out_.path = ctx_.opt.out_path;
  out_.header = pv_.obj().header;
  out_.add_symbol(elf::Symbol{}); // null symbol
  if (!pv_.file_name().empty()) {
    elf::Symbol f;
    f.name = pv_.file_name();
    f.type = STT_FILE;
    f.special_shndx = SHN_ABS;
    out_.add_symbol(std::move(f));
  }
  for (SymbolId s : ctx_.incl.order)
    copy_symbol(s);
  for (SectionId s : ctx_.incl.section_order)
    copy_whole_section(s);
  std::vector<Range> chunks = copy_chunks();
  // Code and data relocations after every copy exists, so references between copies resolve.
  for (SymbolId s : ctx_.incl.order) {
    const elf::Symbol &sym = pv_.sym(s);
    auto loc = map_location(*sym.section, sym.value);
    auto [start, end] = copied_range(s);
    copy_relocs(*sym.section, start, end, loc->first, loc->second - (sym.value - start), false);
    add_raw_branch_relocs(s);
  }
  for (SectionId s : ctx_.incl.section_order)
    copy_relocs(s, 0, pv_.sec(s).size, map_location(s, 0)->first, 0, false);
  for (const Range &c : chunks)
    copy_relocs(c.src, c.start, c.end, c.out, c.out_start, false);
  for (const SpecialSelection &sel : ctx_.special)
    copy_special(sel);
  rewrite_runtime_consts();
  add_aliases();
  emit_klp_table();
  elf::Section note;
  note.name = ".note.GNU-stack";
  out_.add_section(std::move(note));
  for (const auto &[name, id] : undef_)
    ctx_.out_info.undefined.push_back(name);
}

} // namespace

void build_output(DiffContext &ctx) { Builder(ctx).run(); }

} // namespace kpg::diff
