// SPDX-License-Identifier: GPL-2.0-only
#include "builder/same_code.h"

#include <algorithm>
#include <fmt/format.h>

#include "elf/reader.h"

namespace kpg::build {

namespace {

bool linked(const elf::ObjectFile &o) { return o.header.type == ET_EXEC || o.header.type == ET_DYN; }

// Bytes a relocation of this type writes (x86-64): the fields not to compare.
u32 reloc_width(u32 type) {
  switch (type) {
  case R_X86_64_64:
  case R_X86_64_PC64: return 8;
  case R_X86_64_16:
  case R_X86_64_PC16: return 2;
  case R_X86_64_8:
  case R_X86_64_PC8: return 1;
  default: return 4; // PC32, PLT32, 32, 32S, GOTPCREL...
  }
}

// What a relative branch does, independent of its encoding: a condition code for jcc (the
// low nibble of 7x rel8 and of 0f 8x rel32), or the kind of branch.
int branch_class(std::span<const u8> b, const disasm::Insn &in) {
  u32 p = in.offset;
  static constexpr u8 prefixes[] = {0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0x66, 0x67, 0xf2, 0xf3};
  while (p < in.end() && std::find(std::begin(prefixes), std::end(prefixes), b[p]) != std::end(prefixes))
    p++;
  if (p >= in.end())
    return -1;
  u8 op = b[p];
  if (op >= 0x70 && op <= 0x7f)
    return op & 0xf;
  if (op == 0x0f && p + 1 < in.end() && b[p + 1] >= 0x80 && b[p + 1] <= 0x8f)
    return b[p + 1] & 0xf;
  if (op == 0xeb || op == 0xe9)
    return 0x100; // jmp
  if (op == 0xe8)
    return 0x200; // call
  return 0x300 + op; // jrcxz, loop*: only the same opcode byte is the same branch
}

struct Fn {
  Fn(const TargetCode &c, const elf::Symbol &s) : code(c), sym(s) {}
  const TargetCode &code;
  const elf::Symbol &sym;
  const elf::Section *sec = nullptr;
  u64 start = 0; // offset of the first byte in sec->data
  std::span<const u8> bytes;
  std::vector<disasm::Insn> all, insns; // every instruction; those that are not NOPs
  std::vector<const elf::Reloc *> relocs; // in the function, sorted by offset
};

std::string load(const disasm::Decoder &dec, Fn &f) {
  if (!f.sym.section)
    return fmt::format("{} is not defined in {}", f.sym.name, f.code.obj().path);
  f.sec = &f.code.obj().sections[*f.sym.section];
  f.start = linked(f.code.obj()) ? f.sym.value - f.sec->addr : f.sym.value;
  if (f.sec->is_nobits() || f.start + f.sym.size > f.sec->data.size())
    return fmt::format("no code for {} in {}", f.sym.name, f.code.obj().path);
  f.bytes = std::span<const u8>(f.sec->data).subspan(f.start, f.sym.size);
  f.all = dec.decode(f.bytes);
  // Alignment padding is not compared: a shorter branch before a `.p2align` label makes the
  // assembler pad with more or other NOPs, and a NOP does nothing.
  for (const disasm::Insn &in : f.all)
    if (in.kind != disasm::InsnKind::Nop)
      f.insns.push_back(in);
  for (const elf::Reloc &r : f.sec->relocs)
    if (r.offset >= f.start && r.offset < f.start + f.sym.size)
      f.relocs.push_back(&r);
  std::sort(f.relocs.begin(), f.relocs.end(), [](auto *a, auto *b) { return a->offset < b->offset; });
  return "";
}

const elf::Reloc *reloc_at(const Fn &f, u64 rel_offset) {
  for (const elf::Reloc *r : f.relocs)
    if (r->offset - f.start == rel_offset)
      return r;
  return nullptr;
}

bool under_reloc(const Fn &f, u64 rel_offset) {
  for (const elf::Reloc *r : f.relocs) {
    u64 o = r->offset - f.start;
    if (rel_offset >= o && rel_offset < o + reloc_width(r->type))
      return true;
  }
  return false;
}

// Where a relative branch goes: "@N" for the N-th instruction of the function itself, else
// the names of the symbols at the destination with the offset into them.
std::vector<std::string> destination(const Fn &f, const disasm::Insn &in) {
  u64 field = in.end() - in.branch_disp_size;
  if (const elf::Reloc *r = reloc_at(f, field)) {
    const elf::ObjectFile &o = f.code.obj();
    const elf::Symbol &s = o.symbols[r->sym];
    // The CPU adds the field to the end of the instruction; the field holds S + A - P with P
    // the field's own address, so the destination is S + A + (end - field).
    i64 off = r->addend + static_cast<i64>(in.branch_disp_size);
    if (s.section)
      return f.code.names_at(*s.section, static_cast<u64>(static_cast<i64>(s.is_section() ? 0 : s.value) + off));
    return {fmt::format("{}+{:#x}", s.name, off)};
  }
  i64 t = *in.branch_target;
  if (t >= 0 && static_cast<u64>(t) < f.sym.size) {
    // Into the function: the first real instruction from there on (a branch to padding
    // falls through the NOPs), counted among the real instructions.
    bool boundary = std::any_of(f.all.begin(), f.all.end(), [&](const disasm::Insn &x) { return x.offset == static_cast<u64>(t); });
    for (size_t i = 0; boundary && i < f.insns.size(); i++)
      if (f.insns[i].offset >= static_cast<u64>(t))
        return {fmt::format("@{}", i)};
    return {fmt::format("@+{:#x}", t)};
  }
  return f.code.names_at(*f.sym.section, static_cast<u64>(static_cast<i64>(f.sym.value) + t));
}

std::string show(const disasm::Decoder &dec, const Fn &f, size_t i) {
  if (i >= f.insns.size())
    return "(end)";
  return fmt::format("+{:#x}: {}", f.insns[i].offset, dec.format(f.bytes, f.insns[i]));
}

} // namespace

TargetCode::TargetCode(const elf::ObjectFile &obj) : obj_(obj) {
  bool lk = linked(obj);
  for (const elf::Symbol &s : obj.symbols) {
    if (!s.section || s.name.empty() || s.is_section() || s.is_file() || s.is_object())
      continue;
    by_value_.emplace_back(lk ? 0u : to_index(*s.section), s.value, s.size, s.name);
  }
  std::sort(by_value_.begin(), by_value_.end());
}

std::vector<std::string> TargetCode::names_at(elf::SectionId sec, u64 value) const {
  u32 key = linked(obj_) ? 0u : to_index(sec);
  std::vector<std::string> out;
  auto hi = std::upper_bound(by_value_.begin(), by_value_.end(), std::tuple<u32, u64, u64, std::string>{key, value, ~0ull, ""});
  // Functions do not overlap; aliases share an address. A few entries back is enough.
  for (auto it = hi; it != by_value_.begin() && hi - it < 64;) {
    --it;
    auto &[s, v, size, name] = *it;
    if (s != key)
      break;
    if (v == value || value < v + size)
      out.push_back(fmt::format("{}+{:#x}", name, value - v));
  }
  return out;
}

std::string code_difference(const disasm::Decoder &dec, const elf::ObjectFile &ours_obj, const elf::Symbol &ours,
                            const TargetCode &target, const elf::Symbol &theirs) {
  TargetCode ours_code(ours_obj);
  Fn a(ours_code, ours), b(target, theirs);
  if (std::string e = load(dec, a); !e.empty())
    return e;
  if (std::string e = load(dec, b); !e.empty())
    return e;
  size_t n = std::min(a.insns.size(), b.insns.size());
  for (size_t i = 0; i < n; i++) {
    const disasm::Insn &x = a.insns[i], &y = b.insns[i];
    auto differ = [&](const std::string &why) {
      return fmt::format("{} here, {} in the target{}", show(dec, a, i), show(dec, b, i), why);
    };
    if (x.branch_target || y.branch_target) {
      if (!x.branch_target || !y.branch_target || x.kind != y.kind ||
          branch_class(a.bytes, x) != branch_class(b.bytes, y))
        return differ("");
      std::vector<std::string> da = destination(a, x), db = destination(b, y);
      bool meet = std::any_of(da.begin(), da.end(),
                              [&](const std::string &d) { return std::find(db.begin(), db.end(), d) != db.end(); });
      if (!meet)
        return differ(fmt::format(" (to {} vs {})", da.empty() ? "?" : da.front(), db.empty() ? "?" : db.front()));
      continue;
    }
    if (x.size != y.size || x.opcode != y.opcode)
      return differ("");
    for (u32 k = 0; k < x.size; k++)
      if (a.bytes[x.offset + k] != b.bytes[y.offset + k] && !under_reloc(a, x.offset + k) && !under_reloc(b, y.offset + k))
        return differ("");
  }
  if (a.insns.size() != b.insns.size())
    return fmt::format("{} instructions here, {} in the target (first extra: {})", a.insns.size(), b.insns.size(),
                       a.insns.size() > n ? show(dec, a, n) : show(dec, b, n));
  return "";
}

SameCodeCheck SameCode::check_for(const elf::ObjectFile &orig, const diff::TargetSymbols &target) {
  return [this, &orig, &target](const elf::Symbol &ours, u32 idx) { return difference(orig, ours, target, idx); };
}

std::string SameCode::difference(const elf::ObjectFile &orig, const elf::Symbol &ours,
                                 const diff::TargetSymbols &target, u32 target_index) {
  if (!decoder_) {
    auto d = disasm::Decoder::create_x86_64();
    if (!d)
      return d.error().message;
    decoder_.emplace(std::move(*d));
  }
  Code &slot = targets_[target.path()];
  if (!slot.obj) {
    elf::ReadOptions ro;
    ro.debug_contents = false;
    ro.relocations = !target.is_linked_kernel(); // a vmlinux's branches are resolved
    auto obj = elf::read_object(target.path(), ro);
    if (!obj)
      return "cannot read the target's code: " + obj.error().str();
    slot.obj = std::make_unique<elf::ObjectFile>(std::move(*obj));
    slot.code = std::make_unique<TargetCode>(*slot.obj);
  }
  elf::SymbolId id{target.syms()[target_index].symtab_index};
  if (!slot.obj->symbols.contains(id))
    return "the target's symbol table changed under us";
  return code_difference(*decoder_, orig, ours, *slot.code, slot.obj->symbols[id]);
}

} // namespace kpg::build
