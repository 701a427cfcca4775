// SPDX-License-Identifier: GPL-2.0-only
//
// DiffContext: the only state the diff passes share (mold's Context, objtool's `struct
// elfs`). Each pass reads what earlier passes produced and writes its own result struct;
// there are no "changed"/"included"/"twin" flags sprinkled over symbols. A unit test can build
// a Correlation by hand and run only compare().
#pragma once
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "diff/code_chunks.h"
#include "diff/klp_format.h"
#include "diff/object_view.h"
#include "diff/special_index.h"
#include "diff/special_sections.h"
#include "diff/target.h"
#include "elf/model.h"
#include "support/diag.h"

namespace kpg::dwarf {
class ObjectDebugInfo;
}

namespace kpg::diff {

// Stable reason codes for refusals (documented in README and --help; tests match on them).
namespace code {
inline constexpr const char *INIT_CHANGED = "INIT_CHANGED";
inline constexpr const char *DATA_INIT_CHANGED = "DATA_INIT_CHANGED";
inline constexpr const char *OBJECT_SIZE_CHANGED = "OBJECT_SIZE_CHANGED";
inline constexpr const char *STATIC_LOCAL_REF_REMOVED = "STATIC_LOCAL_REF_REMOVED";
inline constexpr const char *NO_FENTRY = "NO_FENTRY";
inline constexpr const char *COMDAT_CHANGED = "COMDAT_CHANGED";
inline constexpr const char *UNKNOWN_SPECIAL_SECTION = "UNKNOWN_SPECIAL_SECTION";
inline constexpr const char *BAD_SPECIAL_SECTION = "BAD_SPECIAL_SECTION";
inline constexpr const char *SYMBOL_CHANGED_TYPE = "SYMBOL_CHANGED_TYPE";
inline constexpr const char *MODULE_KEY_IN_SPECIAL_ENTRY = "MODULE_KEY_IN_SPECIAL_ENTRY";
inline constexpr const char *UNSUPPORTED_RELOCATION = "UNSUPPORTED_RELOCATION";
inline constexpr const char *INCOMPATIBLE_OBJECTS = "INCOMPATIBLE_OBJECTS";
inline constexpr const char *TARGET_SYMBOL_NOT_FOUND = "TARGET_SYMBOL_NOT_FOUND";
inline constexpr const char *AMBIGUOUS_TARGET_SYMBOL = "AMBIGUOUS_TARGET_SYMBOL";
inline constexpr const char *WEAK_OVERRIDDEN = "WEAK_OVERRIDDEN";
inline constexpr const char *INIT_REFERENCED = "INIT_REFERENCED";
inline constexpr const char *BAD_CALLBACK = "BAD_CALLBACK";
inline constexpr const char *NEW_EXPORT = "NEW_EXPORT";
inline constexpr const char *EXPORTED_ABI_CHANGED = "EXPORTED_ABI_CHANGED";
inline constexpr const char *UNSUPPORTED_SPECIAL_SECTION = "UNSUPPORTED_SPECIAL_SECTION";
inline constexpr const char *BTF_IDS_CHANGED = "BTF_IDS_CHANGED";
inline constexpr const char *FORCE_UNSAFE = "FORCE_UNSAFE";
inline constexpr const char *INTERNAL = "INTERNAL";
} // namespace code

struct Options {
  std::string orig_path, patched_path, out_path;
  std::string report_path;               // empty: no JSON report
  std::string objname = "vmlinux";       // klp_object name: vmlinux or the module name ('-' -> '_')
  // The running kernel by path, for a single diff (`kpatch-gen diff --target --symvers`), read
  // by load_inputs when the caller's TargetKernel does not give it already loaded. Optional.
  std::string target_path;               // ELF whose symtab stands for the running kernel
  std::string symvers_path;              // Module.symvers
  std::map<std::string, u64> entry_sizes; // --entry-size SECTION=BYTES
  // --kernel-line: the kernel line the objects were built for. Unset: the target's release
  // says, else a section of the objects that only one line has (choose_kernel_line).
  std::optional<KernelLine> kernel_line;
  // genksyms CRCs of the unit's exports in the original and the patched build (symbol ->
  // CRC, from the `#SYMVER name 0xCRC` lines kbuild appends to the unit's .cmd file with
  // CONFIG_MODVERSIONS; read_symver_crcs()). Both set: a changed exported function whose CRC
  // differs is refused (check_exports); unset: not checked, with a note.
  std::optional<std::map<std::string, u32>> orig_crcs, patched_crcs;
  // --objtool-at-link: kbuild runs objtool on the patch module's linked object, as it does for
  // every multi-object module when the target has CONFIG_X86_KERNEL_IBT or CONFIG_LTO_CLANG
  // (delay-objtool in scripts/Makefile.lib; Debian's 6.12 cloud kernel and the 6.12 lab, not
  // Debian's 6.1). Then the livepatch relocation records get shadow relocations (klp_format.h)
  // and objtool's own tables are not carried from the inputs (special_sections.h,
  // SpecialSection::objtool_output): objtool writes them for the whole module.
  bool objtool_at_link = false;
};

// --- correlate ---------------------------------------------------------------------------
struct Correlation {
  IdMap<SymbolId, SymbolId> o2p, p2o;       // symbol twins (functions, parts, objects, labels)
  IdMap<SectionId, SectionId> sec_o2p, sec_p2o;
  std::vector<std::string> notes;           // how ambiguous groups were resolved
  void link(SymbolId o, SymbolId p) {
    o2p.set(o, p);
    p2o.set(p, o);
  }
  void link_sections(SectionId o, SectionId p) {
    sec_o2p.set(o, p);
    sec_p2o.set(p, o);
  }
};

// --- compare / classify ------------------------------------------------------------------
enum class Status : u8 { Same, Changed, New };

// An instruction that differs from its twin only in immediate operands (`mov $0x1c3,%esi` vs
// `mov $0x1c4,%esi`). compare() collects them instead of stopping; ignore_line_only_changes()
// decides whether they are __LINE__ values.
struct ImmSite {
  u64 orig_off = 0, patched_off = 0; // section offsets of the instructions
  size_t insn_index = 0;             // index in the function's instruction list
  i64 orig_value = 0, patched_value = 0;
  // Not an immediate but a string literal that differs only in the number after
  // "<file>:" (__FILE__ ":" __stringify(__LINE__), e.g. the field-spanning-write warning of
  // every fortified memcpy(): "field \"run->...insn_bytes\" at arch/x86/kvm/x86.c:8493").
  bool in_string = false;
};

// What kind of difference the first one is (the report's `reason.kind`).
enum class DifferenceKind : u8 {
  Instruction,   // another instruction (or a branch to another place)
  Relocation,    // the same instruction referring to something else
  Immediate,     // only immediate operands differ (see Difference::imm_sites; maybe __LINE__)
  Size,          // another number of instructions, or another object size
  SpecialEntry,  // a special-section entry of the function differs (bug_entry flags, alt_instr),
                 // or it refers to a table object that changed (its __dyndbg descriptor)
  Data,          // an object's contents differ
  Child,         // a .cold part of the function changed
  NotraceCallee, // unchanged itself, but calls a changed function without ftrace entry (notrace.cc)
};
// The stable name in reports: "instruction", "relocation", "immediate", "size",
// "special-entry", "data", "child", "notrace-callee".
const char *difference_kind_name(DifferenceKind k);

// Why a symbol differs: the first thing that differs, in the patched symbol's coordinates.
struct Difference {
  DifferenceKind kind = DifferenceKind::Instruction;
  u64 offset = 0;            // offset in the patched symbol
  std::string orig, patched; // disassembly or description of each side
  std::string detail;        // one sentence
  std::vector<ImmSite> imm_sites;
  std::string inlined_callee; // the difference lies in code inlined from this function (DWARF)
  std::string inlined_at;     // "fs/proc/cmdline.c:12"
};

inline Difference make_difference(DifferenceKind kind, u64 offset, std::string orig, std::string patched, std::string detail) {
  Difference d;
  d.kind = kind;
  d.offset = offset;
  d.orig = std::move(orig);
  d.patched = std::move(patched);
  d.detail = std::move(detail);
  return d;
}

struct SymbolChange {
  Status status = Status::Same;
  // Shared and immutable: the change set has one entry per symbol of the patched object (tens
  // of thousands for a big unit), nearly all Same; a Difference inline would make each entry
  // ~300 bytes instead of ~50 (11 MB vs 2 MB for bench/diff's 10k-function unit).
  std::shared_ptr<const Difference> diff;
  // Non-empty: the only differences were these __LINE__ values ("+0x6: 22 -> 26",
  // "+0x10: __bug_table line 212 -> 214"). compare() fills it for special entries that differ
  // only in their line field, ignore_line_only_changes() for immediates; reported for Same.
  std::vector<std::string> line_only;
};

struct ChangeSet {
  IdMap<SymbolId, SymbolChange> patched; // by patched SymbolId, for functions/parts/objects
  std::vector<SymbolId> removed;         // orig symbols with no twin
};

// --- notrace callers (notrace.cc) -------------------------------------------------------
// A changed function without ftrace entry whose callers are patched instead.
struct NotraceRedirect {
  SymbolId func{0};               // the changed function (patched object)
  std::vector<SymbolId> callers;  // traceable functions patched because of it
  std::vector<SymbolId> copies;   // func, and callers without ftrace entry on the way up: copied, not patched
  std::string why;                // "patched callers A, B because X has no ftrace entry"
};
struct NotracePlan {
  IdMap<SymbolId, std::string> copies; // patched functions copied without a klp_func -> why
  std::vector<NotraceRedirect> redirects;
};

// --- include ---------------------------------------------------------------------------
enum class IncludeKind : u8 {
  ChangedFunction, // replaces the running kernel's function (a klp_func)
  NewFunction,
  ColdPart,
  NewObject,
  FreshStatic,
  ReadOnlyLocal,   // a function-scope static in read-only data: the patched code uses this copy
  NotraceCopy,     // a changed function without ftrace entry, reached through its patched callers
  OutOfLineCode,   // a chunk of code without symbol that belongs to an included function (code_chunks.h)
  WholeSection,
  Callback,
};
const char *include_kind_name(IncludeKind k);

struct IncludeReason {
  IncludeKind kind = IncludeKind::ChangedFunction;
  std::string why; // "referenced by cmdline_proc_show+0x1c"
};

struct IncludedChunk {
  SectionId sec{0}; // .fixup, .text..refcount, ...
  u64 start = 0, end = 0;
  std::string why;
};

struct Inclusion {
  IdMap<SymbolId, IncludeReason> symbols;   // patched symbols copied into the output
  IdMap<SectionId, IncludeReason> sections; // patched sections copied whole (strings, constants)
  std::vector<SymbolId> order;              // symbols in inclusion order (deterministic output)
  std::vector<SectionId> section_order;
  std::vector<IncludedChunk> chunks;        // out-of-line code of included functions, in inclusion order
  bool has(SymbolId s) const { return symbols.has(s); }
  // The included chunk containing sec+off.
  const IncludedChunk *chunk_at(SectionId sec, i64 off) const {
    for (const IncludedChunk &c : chunks)
      if (c.sec == sec && off >= static_cast<i64>(c.start) && off < static_cast<i64>(c.end))
        return &c;
    return nullptr;
  }
};

// --- special sections ------------------------------------------------------------------
struct SpecialEntry {
  u64 offset = 0;                  // entry offset in the patched special section
  std::optional<SymbolId> owner;   // the function it belongs to (patched)
};
struct SpecialSelection {
  SectionId sec{0};                // patched special section
  const SpecialSection *spec = nullptr;
  u64 entsize = 0;
  std::vector<SpecialEntry> kept;
  u64 total = 0;                   // entries in the input
  // .altinstructions: kept replacement chunks [start, end) of .altinstr_replacement.
  std::vector<std::pair<u64, u64>> aux_kept;
  std::string note;                // e.g. dropped entries whose key is a tracepoint in a module
};

// Callbacks declared with KPG_{PRE,POST}_{PATCH,UNPATCH}_CALLBACK in the patched source
// (CallbackKind: klp_format.h).
struct Callback {
  CallbackKind kind = CallbackKind::PrePatch;
  SymbolId func{0};    // patched function
  std::string alias;   // global alias in the output, referenced by the generated module
};

// A special section whose entry size does not fit (validate_special.cc). Refused only if it
// matters: when it holds an entry for included code, or differs between the objects (a change
// could hide in entries we cannot attribute); otherwise it is dropped with a note
// (select_special_entries). Objects from other kernels have tables of other layouts that
// often have nothing to do with the patched function.
struct BadSpecialSection {
  Location loc;
  std::string problem;  // what does not fit, and the --entry-size hint
  bool differs = false; // compare(): not the same in both objects (or only in one)
};

// --- relocation plan -------------------------------------------------------------------
enum class RefKind : u8 {
  Normal, // an undefined symbol the module loader resolves (export) or the link of the module does
  Klp,    // a livepatch relocation against .klp.sym.<obj>.<name>,<sympos>
};

struct ExternalRef {
  RefKind kind = RefKind::Normal;
  std::string name;    // symbol name in the running kernel / module
  std::string objname; // object that owns the symbol (Klp)
  u64 sympos = 0;
  std::string why;
};

struct RelocPlan {
  // Decisions for patched symbols referenced by included code but not copied into it.
  SparseIdMap<SymbolId, ExternalRef> external;
  // Changed functions referenced as data (function pointers), which must keep pointing at the
  // original (see plan_relocations): patched SymbolId of the function -> decision.
  SparseIdMap<SymbolId, ExternalRef> original_of;
  // sympos of each changed function in the target (for klp_func.old_sympos).
  IdMap<SymbolId, u64> func_sympos;
};

struct KlpRelocRecord {
  std::string section; // output section of the site
  u64 offset = 0;
  u32 type = 0;
  std::string symbol, objname;
  u64 sympos = 0;
  i64 addend = 0;
  std::string why;
};

struct PatchedFunction {
  SymbolId sym{0};     // patched symbol
  std::string old_name; // name in the running kernel
  u64 sympos = 0;
  std::string alias;   // global symbol the module's klp_func.new_func refers to
};

struct OutputInfo {
  std::vector<PatchedFunction> functions;
  std::vector<KlpRelocRecord> klp_relocs;
  std::vector<std::string> undefined; // normal undefined symbols of the output
};

// A reason the patch cannot be live patched (also an error diagnostic with the same code).
struct Refusal {
  std::string code; // code::*
  Location loc;
  std::string message;
};

// --- the context -------------------------------------------------------------------------
// .debug_* sections by id, as elf::read_debug_sections gives them.
using DebugSections = std::vector<std::pair<SectionId, elf::Section>>;

struct DiffContext {
  DiffContext(const Options &o, const TargetKernel &t, const disasm::Decoder &dec);
  ~DiffContext();

  const Options &opt;
  // Every error, warning and note of this run. It prints nothing (lib/ never prints): the
  // caller gets them in DiffResult::diagnostics and prints them with its own Diag.
  Diag diag{nullptr};
  const disasm::Decoder &dec;

  elf::ObjectFile orig, patched; // .debug_* sections without contents, but see with_debug_info
  // While with_debug_info() has swapped the full .debug_* sections into a model: the empty
  // ones they replaced, by id (put back by release_debug_info).
  std::optional<DebugSections> orig_swapped, patched_swapped;
  // The kernel line the objects were built for, and which special-section table reads them
  // (load_inputs decides; both views use the table).
  KernelLine line = KernelLine::V6_1;
  SpecialTable table; // the line's special sections, as this run reads them (the views refer to it)
  std::string line_why;
  std::unique_ptr<ObjectView> ov, pv;
  std::unique_ptr<dwarf::ObjectDebugInfo> orig_dwarf, patched_dwarf; // line tables, loaded on demand
  std::map<std::string, EntrySize> entry_sizes;
  std::map<std::string, BadSpecialSection> bad_special; // by table name (validate_special.cc)
  std::unique_ptr<SpecialIndex> oidx, pidx; // built by compare()
  std::unique_ptr<CodeChunks> ochunks, pchunks; // built by compare()
  // The running kernel (null when not given): the caller's TargetKernel, or read by
  // load_inputs from Options::target_path / symvers_path into own_target / own_symvers.
  const TargetSymbols *target = nullptr;
  const Symvers *symvers = nullptr;
  const TargetKernel &target_kernel;
  std::optional<TargetSymbols> own_target;
  std::optional<Symvers> own_symvers;

  Correlation corr;
  ChangeSet changes;
  NotracePlan notrace;
  Inclusion incl;
  std::vector<SpecialSelection> special;
  std::vector<Callback> callbacks;
  std::set<std::string> ignored_sections; // KPATCH_IGNORE_SECTION names (author_markers.cc)
  RelocPlan plan;
  elf::ObjectFile out;
  OutputInfo out_info;

  using Refusal = ::kpg::diff::Refusal;
  std::vector<Refusal> refusals;
  std::vector<std::string> notes; // report-only explanations ("dropped 3 __mcount_loc entries ...")

  // The object with its debug sections: orig/patched are read without them (half the bytes
  // and most relocations of a kernel unit), and the few passes that ask DWARF something read
  // them on demand (elf::read_debug_sections: the debug sections only, nothing else again)
  // and find them in the model itself until release_debug_info().
  Expected<const elf::ObjectFile *> with_debug_info(bool patched_side);
  // Starts that read on another thread, for with_debug_info to pick up. compare() does it for
  // the patched side at the first code difference it finds: the patched DWARF explains
  // nearly every changed function (classify): the read then overlaps the rest of compare,
  // which runs on one core. Not earlier: a diff that finds nothing (a rebuilt unit the patch
  // does not touch, the self-diff) never reads DWARF at all. Not later: waiting for the read
  // in classify would add it to the run (10k-function unit: 48M instructions, a ninth).
  void prefetch_debug_info(bool patched_side);
  bool patched_has_debug_info = false; // set by load_inputs: there is something to prefetch
  std::future<Expected<DebugSections>> orig_prefetch, patched_prefetch;
  // Frees the debug sections and DWARF tables once no pass needs them (after classify): the
  // run used to peak at its end, in plan_relocations and build_output, with them still held
  // (10k-function unit, massif: 66 MB of heap there before, 40 MB now). Re-read on demand.
  void release_debug_info();
  // load_models(): orig/patched were given in memory, debug sections included; there is no
  // file to read them from again.
  bool models_in_memory = false;

  // Records a refusal: an error diagnostic with a stable code, also listed in the report.
  void refuse(const char *code, const Location &loc, std::string message);
  Location loc_orig(SymbolId s, std::optional<u64> off = std::nullopt) const;
  Location loc_patched(SymbolId s, std::optional<u64> off = std::nullopt) const;
};

} // namespace kpg::diff
