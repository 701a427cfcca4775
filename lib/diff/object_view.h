// SPDX-License-Identifier: GPL-2.0-only
//
// ObjectView: what the diff knows about one input object beyond the raw ELF model.
//
// Built once per object (orig and patched) and read-only afterwards:
//  - the role of each symbol (function, .cold part, data object, fresh static, ...) and its
//    decoded name (names.h);
//  - the symbols of each section sorted by address, so that "section symbol + addend" can be
//    turned into "named symbol + offset" (GNU as writes relocations against local symbols as
//    relocations against their section: a call to static `bar` is `.text.bar - 4`, a use of
//    static `counter` is `.bss.counter - 4`);
//  - decoded instructions of code, lazily, because a PC-relative relocation's addend only says
//    where the CPU lands once the end of its instruction is known:
//        48 8b 05 00 00 00 00      mov  0x0(%rip),%rax      # R_X86_64_PC32 foo-4
//        83 3d 00 00 00 00 01      cmpl $0x1,0x0(%rip)      # R_X86_64_PC32 foo-5
//    both point at foo+0.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "diff/names.h"
#include "diff/special_sections.h"
#include "disasm/disasm.h"
#include "elf/model.h"

namespace kpg::diff {

using elf::SectionId;
using elf::SymbolId;

enum class SymRole : u8 {
  None,       // null symbol, oddities
  Function,   // STT_FUNC (not a .cold part)
  ColdPart,   // foo.cold: the unlikely part of foo, compared and carried with it
  Object,     // STT_OBJECT / STT_TLS
  Label,      // defined STT_NOTYPE (assembler labels that reached the symtab)
  SectionSym, // STT_SECTION
  File,       // STT_FILE
  Undefined,  // SHN_UNDEF
  Absolute,   // SHN_ABS and other special indices
  // objtool's `__pfx_<fn>` (6.12, CONFIG_PREFIX_SYMBOLS): a 16-byte STT_FUNC over the NOP
  // padding before fn, in fn's section. The padding belongs to fn -- it is not a function of
  // its own, never changes, never gets a klp_func, and must stay in front of fn's copy, where
  // call depth tracking writes its accounting thunk -- so it is in no symbols_in() list and
  // does not keep fn from being alone in its section (bundled), which copies the section whole.
  Prefix,
};

struct SymFacts {
  SymRole role = SymRole::None;
  DecodedName name;
  bool fresh_static = false; // never correlated; each patch gets a fresh copy (names.h)
  bool static_local = false; // local object named name.N: a function-scope static
  // A function-scope static in read-only data (`static const` tables, NL_SET_ERR_MSG()'s
  // `__msg`, gcc's `CSWTCH.N`): it holds no state, so it is treated as a fresh static (never
  // correlated, compared by contents, copied for the patched code). Implies fresh_static.
  bool read_only_local = false;
  bool bundled = false;      // the only function/object of its section (-ffunction/-fdata-sections)
  // The STT_FILE block a local belongs to (1-based, in symtab order; 0 = no FILE symbol before
  // it, and every global). An object made by `ld -r` of several units (a composite module
  // object) has one block per unit, each with its own locals: two `static int helper()` are
  // different functions.
  u32 file_block = 0;
  std::optional<SymbolId> parent;  // ColdPart -> its function (the other way: ObjectView::cold_parts)
};

// Where a relocation points.
struct Target {
  enum class Kind : u8 {
    Symbol,    // a named defined symbol (+offset inside it)
    String,    // inside an SHF_STRINGS section (compared by contents)
    Anonymous, // inside a section at a place no named symbol covers (constant pools, ...)
    Undefined, // an undefined symbol (+offset)
  };
  Kind kind = Kind::Undefined;
  SymbolId sym{0};   // Symbol/Undefined: the symbol; String/Anonymous: the relocation's symbol
  SectionId sec{0};  // String/Anonymous: the section pointed into
  i64 offset = 0;    // pointed-to offset inside `sym` (Symbol/Undefined) or `sec`
  i64 bias = 0;      // offset == addend + bias (+ st_value for section symbols); non-zero only for
                     // PC-relative relocations in code
};

struct Insns {
  std::vector<disasm::Insn> insns; // offsets are section offsets
};

class ObjectView {
public:
  // `table`: the special sections of the kernel line the object was built for (both views of
  // one diff share it).
  ObjectView(const elf::ObjectFile &obj, const disasm::Decoder &dec, const SpecialTable &table);

  const elf::ObjectFile &obj() const { return obj_; }
  const SymFacts &facts(SymbolId id) const { return facts_[to_index(id)]; }
  // A function's cold parts (facts().parent the other way round). Not a SymFacts member: few
  // functions have one, and an empty vector in each of 60,000 SymFacts was 1.4 MB.
  std::span<const SymbolId> cold_parts(SymbolId func) const {
    auto it = cold_parts_.find(to_index(func));
    return it == cold_parts_.end() ? std::span<const SymbolId>() : std::span<const SymbolId>(it->second);
  }
  const elf::Symbol &sym(SymbolId id) const { return obj_.symbols[id]; }
  const elf::Section &sec(SectionId id) const { return obj_.sections[id]; }
  std::string name(SymbolId id) const { return obj_.symbol_name(id); }
  // The special-section table the view was built with, and the row a section belongs to.
  const SpecialTable &table() const { return table_; }
  const SpecialSection *find_special(std::string_view name) const { return find_special_section(table_, name); }
  // The first section called `name`. The special sections of the table (and their
  // auxiliary sections) are indexed when the view is built: the passes ask for each of them
  // several times, and a linear search of a function-sections unit walks ~30k Sections.
  std::optional<SectionId> find_section(std::string_view name) const;
  // The sections of one row of the table (special_sections.h): the first section of that
  // name, or every section of a prefix row ("___ksymtab+*": one section per export), in
  // section order.
  const std::vector<SectionId> &special_sections(const SpecialSection &spec) const;

  // Functions, cold parts and objects of a section, by address.
  const std::vector<SymbolId> &symbols_in(SectionId sec) const { return by_section_[to_index(sec)]; }
  // The function/object that contains `off` (or ends exactly at it when nothing starts
  // there: `&array[N]` is a pointer to the end of `array`, not into the next object).
  std::optional<SymbolId> symbol_at(SectionId sec, u64 off) const;
  // The symbol a raw branch to `off` enters: a function (or sized code symbol) containing it,
  // or a label exactly at it. Unlike symbol_at(), never "the end of the previous function":
  // code just past a function (an assembler tail like putuser.S's .Lbad_put_user) belongs to
  // no symbol, and a copy of the caller cannot be pointed at it.
  std::optional<SymbolId> branch_destination(SectionId sec, i64 off) const;
  // The branches of `func` that leave it without a relocation: the assembler resolved them
  // because the destination shares the section (a call to a neighbour in .sched.text, or in
  // .text without -ffunction-sections). Empty for a function alone in its section. A copy of
  // `func` needs a relocation for each; plan_relocations decides them and output emits them,
  // so both must see the same list.
  struct RawBranch {
    const disasm::Insn *insn;
    i64 target;                   // section offset the branch reaches
    std::optional<SymbolId> dest; // branch_destination(target)
  };
  std::vector<RawBranch> raw_branches_out(SymbolId func) const;
  // Relocations whose site lies in [start, end) of `sec`, sorted by offset.
  std::span<const elf::Reloc> relocs_in(SectionId sec, u64 start, u64 end) const;
  std::span<const elf::Reloc> relocs_of(SectionId sec) const { return sorted_relocs_[to_index(sec)]; }

  // Instructions of the code range [start, end) of an executable section, decoded from `start`.
  const Insns &code(SectionId sec, u64 start, u64 end) const;
  const Insns &code_of(SymbolId func) const;
  // The instruction of `sec` containing `off` (decoding the enclosing function, or the whole
  // section when no function covers it).
  const disasm::Insn *insn_at(SectionId sec, u64 off) const;

  Target resolve(SectionId site_sec, const elf::Reloc &r) const;
  // The function or object a relocation refers to (what resolve() gives as Kind::Symbol), when
  // that is all the caller needs. Answered without decoding the instruction at the site when
  // the relocation names the symbol, or names a section that holds only that symbol
  // (-ffunction-sections/-fdata-sections: `.bss.count.2 - 4`), so that scanning every
  // function's relocations for users of a variable does not decode every function.
  std::optional<SymbolId> target_symbol(SectionId site_sec, const elf::Reloc &r) const;
  // The NUL-terminated string starting at `off` in an SHF_STRINGS section.
  std::string_view string_at(SectionId sec, u64 off) const;
  // "foo+0x10", "\"hello\\n\"", ".rodata.cst16+0x20", "printk (undefined)".
  std::string describe(const Target &t) const;

  // The first FILE symbol's name ("cmdline.c"), used to find this unit in a target symtab.
  const std::string &file_name() const { return file_name_; }
  // FILE blocks: the name of block b (facts().file_block; "" for 0), and a key that tells
  // same-named blocks apart by their order ("util.c", "util.c#2"), the same in two builds of
  // one object.
  u32 file_blocks() const { return static_cast<u32>(block_names_.size()); }
  const std::string &file_block_name(u32 b) const { return block_names_[b]; }
  const std::string &file_block_key(u32 b) const { return block_keys_[b]; }
  const disasm::Decoder &decoder() const { return dec_; }

private:
  const elf::ObjectFile &obj_;
  const disasm::Decoder &dec_;
  const SpecialTable &table_;
  std::vector<SymFacts> facts_;
  std::unordered_map<u32, std::vector<SymbolId>> cold_parts_;
  std::vector<std::vector<SymbolId>> by_section_;
  // Relocations of each section by offset: a view of the model's vector when it is already
  // sorted (what GNU as writes), else of a sorted copy in sorted_copies_.
  std::vector<std::span<const elf::Reloc>> sorted_relocs_;
  std::vector<std::vector<elf::Reloc>> sorted_copies_;
  std::string file_name_;
  std::vector<std::string> block_names_{""}, block_keys_{""};
  // Special-section name (a view of the table's string) -> first section of that name.
  std::vector<std::pair<std::string_view, std::optional<SectionId>>> special_;
  // By row of the table: its sections (see special_sections()).
  std::vector<std::vector<SectionId>> rows_;
  // Decoded ranges by exact (section, start, end). Entries are never replaced: callers keep
  // references (compare_function() holds both functions' instructions while resolve() decodes
  // more), and a function and the whole section it starts can share a start offset.
  mutable std::map<std::tuple<u32, u64, u64>, std::unique_ptr<Insns>> code_cache_;
};

bool is_pc_relative(u32 r_type);

} // namespace kpg::diff
