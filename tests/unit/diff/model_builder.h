// SPDX-License-Identifier: GPL-2.0-only
//
// Test-only: builds the diff's input model (elf::ObjectFile) by hand, the way GNU as lays out
// a kernel unit built with -ffunction-sections -fdata-sections: one section per function or
// object, each with its STT_SECTION symbol, a FILE symbol first. Code is given as x86-64
// bytes (the helpers below spell the few instructions the tests need), so a test states in a
// few lines exactly the difference a pass must see -- no compiler, no files.
//
// DiffRun feeds two such models to the passes through load_models() and runs only the
// passes a test names.
#pragma once
#include <elf.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "diff/context.h"
#include "diff/passes.h"
#include "disasm/disasm.h"
#include "elf/model.h"

namespace kpg::diff::test {

using Bytes = std::vector<u8>;

// --- x86-64 encodings ---------------------------------------------------------------------
// `call <rel32>` (e8): the relocation (R_X86_64_PLT32 callee-4) lands at +1.
inline Bytes call() { return {0xe8, 0, 0, 0, 0}; }
// `mov $imm,%esi` (be imm32): the second argument of __might_sleep(file, line, ...).
inline Bytes mov_esi(u32 imm) {
  return {0xbe, static_cast<u8>(imm), static_cast<u8>(imm >> 8), static_cast<u8>(imm >> 16), static_cast<u8>(imm >> 24)};
}
// `mov 0x0(%rip),%eax` (8b 05 rel32): a load of a variable, R_X86_64_PC32 var-4 at +2.
inline Bytes load_eax() { return {0x8b, 0x05, 0, 0, 0, 0}; }
inline Bytes ud2() { return {0x0f, 0x0b}; } // BUG()
inline Bytes nop5() { return {0x0f, 0x1f, 0x44, 0x00, 0x00}; } // a static branch site
inline Bytes ret() { return {0xc3}; }
inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes b;
  for (const Bytes &p : parts)
    b.insert(b.end(), p.begin(), p.end());
  return b;
}

class ModelBuilder {
public:
  // `path` names the object in messages; `file` is its STT_FILE symbol (the unit's source).
  explicit ModelBuilder(std::string path, std::string file = "unit.c") {
    obj_.path = std::move(path);
    obj_.symbols.push_back(elf::Symbol{}); // the null symbol
    this->file(std::move(file));
  }

  // Another STT_FILE symbol: the locals defined after it belong to that unit (a vmlinux
  // symtab has one block per unit).
  void file(std::string name) {
    elf::Symbol f;
    f.name = std::move(name);
    f.type = STT_FILE;
    f.special_shndx = SHN_ABS;
    obj_.add_symbol(f);
  }

  // A function alone in its section (.text.NAME, or `section`), starting with the
  // `call __fentry__` that -pg -mfentry puts in every traceable kernel function, then `body`.
  // Offsets given to reloc() are relative to the function start, fentry call included.
  elf::SymbolId function(const std::string &name, const Bytes &body, u8 bind = STB_LOCAL, std::string section = "") {
    Bytes code = cat({call(), body});
    elf::SymbolId s = define(section.empty() ? ".text." + name : section, SHF_ALLOC | SHF_EXECINSTR, 16, code, name,
                             STT_FUNC, bind);
    reloc(s, 1, R_X86_64_PLT32, undefined("__fentry__"), -4);
    return s;
  }
  // A function without fentry call (a .cold part, or notrace code).
  elf::SymbolId raw_function(const std::string &name, const Bytes &code, u8 bind = STB_LOCAL, std::string section = "") {
    return define(section.empty() ? ".text." + name : section, SHF_ALLOC | SHF_EXECINSTR, 16, code, name, STT_FUNC, bind);
  }
  // A data object alone in .data.NAME (or `section`).
  elf::SymbolId object(const std::string &name, const Bytes &data, u8 bind = STB_LOCAL, std::string section = "") {
    return define(section.empty() ? ".data." + name : section, SHF_ALLOC | SHF_WRITE, 8, data, name, STT_OBJECT, bind);
  }
  // The undefined global `name` (created once).
  elf::SymbolId undefined(const std::string &name) {
    if (auto s = obj_.find_symbol(name))
      return *s;
    elf::Symbol u;
    u.name = name;
    u.bind = STB_GLOBAL;
    return obj_.add_symbol(u);
  }
  // A relocation at `off` from the start of symbol `at` (a function or object).
  void reloc(elf::SymbolId at, u64 off, u32 type, elf::SymbolId target, i64 addend) {
    const elf::Symbol &s = obj_.symbols[at];
    obj_.sections[*s.section].relocs.push_back(elf::Reloc{s.value + off, type, target, addend});
  }
  // `call callee` at `off` of `func`: PLT32 to the callee's symbol, as GNU as writes calls.
  void call_at(elf::SymbolId func, u64 off, elf::SymbolId callee) { reloc(func, off + 1, R_X86_64_PLT32, callee, -4); }

  // A struct bug_entry (6.1, x86-64, 12 bytes: bug_addr_disp, file_disp, line, flags) for the
  // ud2 at `off` of `func`, appended to __bug_table.
  void bug_entry(elf::SymbolId func, u64 off, u16 line) {
    elf::SectionId t = special("__bug_table", 1);
    elf::Section &sec = obj_.sections[t];
    u64 at = sec.data.size();
    Bytes e(12, 0);
    e[8] = static_cast<u8>(line);
    e[9] = static_cast<u8>(line >> 8);
    sec.data.insert(sec.data.end(), e.begin(), e.end());
    sec.size = sec.data.size();
    const elf::Symbol &f = obj_.symbols[func];
    sec.relocs.push_back(elf::Reloc{at, R_X86_64_PC32, section_symbol(*f.section), static_cast<i64>(f.value + off)});
    sec.relocs.push_back(elf::Reloc{at + 4, R_X86_64_PC32, section_symbol(strings()), 0});
  }
  // A struct jump_entry (16 bytes: code, target, key) for the branch site at `off` of `func`
  // jumping to `target_off` of it, keyed by `key` (a static key).
  void jump_entry(elf::SymbolId func, u64 off, u64 target_off, elf::SymbolId key) {
    elf::SectionId t = special("__jump_table", 8);
    elf::Section &sec = obj_.sections[t];
    u64 at = sec.data.size();
    sec.data.resize(at + 16, 0);
    sec.size = sec.data.size();
    const elf::Symbol &f = obj_.symbols[func];
    elf::SymbolId fs = section_symbol(*f.section);
    sec.relocs.push_back(elf::Reloc{at, R_X86_64_PC32, fs, static_cast<i64>(f.value + off)});
    sec.relocs.push_back(elf::Reloc{at + 4, R_X86_64_PC32, fs, static_cast<i64>(f.value + target_off)});
    sec.relocs.push_back(elf::Reloc{at + 8, R_X86_64_64, key, 0});
  }

  elf::ObjectFile take() {
    // Relocations of each section in offset order, as GNU as writes them.
    for (elf::Section &s : obj_.sections)
      std::stable_sort(s.relocs.begin(), s.relocs.end(), [](const elf::Reloc &a, const elf::Reloc &b) { return a.offset < b.offset; });
    return std::move(obj_);
  }
  elf::ObjectFile &obj() { return obj_; }

private:
  elf::SymbolId define(const std::string &secname, u64 flags, u64 align, const Bytes &data, const std::string &name,
                       u8 type, u8 bind) {
    elf::Section sec;
    sec.name = secname;
    sec.flags = flags;
    sec.addralign = align;
    sec.data = data;
    sec.size = data.size();
    elf::SectionId id = obj_.add_section(std::move(sec));
    section_symbol(id);
    elf::Symbol s;
    s.name = name;
    s.type = type;
    s.bind = bind;
    s.section = id;
    s.size = data.size();
    return obj_.add_symbol(s);
  }
  elf::SymbolId section_symbol(elf::SectionId sec) {
    if (auto s = obj_.section_symbol(sec))
      return *s;
    elf::Symbol s;
    s.type = STT_SECTION;
    s.section = sec;
    return obj_.add_symbol(s);
  }
  elf::SectionId special(const std::string &name, u64 align) {
    if (auto s = obj_.find_section(name))
      return *s;
    elf::Section sec;
    sec.name = name;
    sec.flags = SHF_ALLOC | SHF_WRITE;
    sec.addralign = align;
    elf::SectionId id = obj_.add_section(std::move(sec));
    section_symbol(id);
    return id;
  }
  // .rodata.str1.1 with the file name the bug entries point at.
  elf::SectionId strings() {
    if (auto s = obj_.find_section(".rodata.str1.1"))
      return *s;
    elf::Section sec;
    sec.name = ".rodata.str1.1";
    sec.flags = SHF_ALLOC | SHF_MERGE | SHF_STRINGS;
    sec.entsize = 1;
    std::string f = "unit.c";
    sec.data.assign(f.begin(), f.end());
    sec.data.push_back(0);
    sec.size = sec.data.size();
    elf::SectionId id = obj_.add_section(std::move(sec));
    section_symbol(id);
    return id;
  }

  elf::ObjectFile obj_;
};

// Two models loaded as `kpatch-gen diff` would load orig.o and patched.o; the test then runs
// the passes it is about, in pipeline order.
struct DiffRun {
  Options opt;
  TargetKernel target;
  std::unique_ptr<disasm::Decoder> dec;
  std::unique_ptr<DiffContext> ctx;

  DiffRun(elf::ObjectFile orig, elf::ObjectFile patched, TargetKernel tk = {}) : target(tk) {
    opt.orig_path = orig.path;
    opt.patched_path = patched.path;
    auto d = disasm::Decoder::create_x86_64();
    if (!d)
      throw std::runtime_error(d.error().message);
    dec = std::make_unique<disasm::Decoder>(std::move(*d));
    ctx = std::make_unique<DiffContext>(opt, target, *dec);
    auto l = load_models(*ctx, std::move(orig), std::move(patched));
    if (!l)
      throw std::runtime_error(l.error().message);
  }
  DiffContext &operator*() { return *ctx; }
  DiffContext *operator->() { return ctx.get(); }

  // Correlate, compare, line-only rule, classify, author markers: the change set is final.
  void changes() {
    validate_special_sections(*ctx);
    correlate(*ctx);
    compare(*ctx);
    ignore_line_only_changes(*ctx);
    classify(*ctx);
    apply_author_markers(*ctx);
  }
  // ...then what the output carries and how its references resolve.
  void through_plan() {
    changes();
    include_closure(*ctx);
    select_special_entries(*ctx);
    plan_relocations(*ctx);
  }

  elf::SymbolId orig_sym(const std::string &name) const { return find(ctx->orig, name); }
  elf::SymbolId patched_sym(const std::string &name) const { return find(ctx->patched, name); }
  Status status(const std::string &patched_name) const {
    auto c = ctx->changes.patched.get(patched_sym(patched_name));
    return c ? c->status : Status::Same;
  }
  const SymbolChange *change(const std::string &patched_name) const {
    const auto &c = ctx->changes.patched.get(patched_sym(patched_name));
    return c ? &*c : nullptr;
  }
  std::vector<std::string> refusal_codes() const {
    std::vector<std::string> v;
    for (const Refusal &r : ctx->refusals)
      v.push_back(r.code);
    return v;
  }

private:
  static elf::SymbolId find(const elf::ObjectFile &o, const std::string &name) {
    auto s = o.find_symbol(name);
    if (!s)
      throw std::runtime_error("no symbol " + name + " in " + o.path);
    return *s;
  }
};

} // namespace kpg::diff::test
