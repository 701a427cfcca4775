// SPDX-License-Identifier: GPL-2.0-only
//
// The diff passes, in the order pipeline.cc runs them. Each pass is a free function in its own
// file; the comment says what it reads, what it writes, and what holds afterwards. Passes that
// can refuse the patch report every problem they find (DiffContext::refuse) and the pipeline
// stops at the next checkpoint, so one run shows all reasons.
#pragma once
#include "diff/context.h"

namespace kpg::diff {

// load.cc -- reads both inputs, the optional target symtab, Module.symvers and entry sizes.
// Writes orig, patched, ov, pv, target, symvers, entry_sizes.
// After: both objects are x86-64 ET_REL with a symbol table, built with -ffunction-sections
// (or refused with INCOMPATIBLE_OBJECTS naming what differs).
Expected<void> load_inputs(DiffContext &ctx);
// The same checks and views for two objects already in memory, with their debug sections
// (with_debug_info() then answers from them): the seam unit tests drive the passes through,
// on models built by hand (tests/unit/diff). Options' object paths are only used in messages.
Expected<void> load_models(DiffContext &ctx, elf::ObjectFile orig, elf::ObjectFile patched);

// validate_special.cc -- checks every special section of both objects against its entry size:
// the size is a multiple of it and each entry carries its owner relocation. A mismatch is
// recorded in bad_special (with a hint to --entry-size) and the table is left out of the entry
// index; select_special_entries refuses it (BAD_SPECIAL_SECTION) only if it holds an entry for
// included code or differs between the objects, and otherwise drops it with a note.
void validate_special_sections(DiffContext &ctx);

// correlate.cc -- finds each symbol's twin: globals by name, locals by decoded name, with
// static locals told apart by the functions that use them and clones in symtab order.
// Writes corr. After: every twin pair has the same role.
void correlate(DiffContext &ctx);

// compare.cc -- compares every twin pair: functions as instruction streams (bytes with
// relocation fields masked, relocation targets compared symbolically, raw branches to other
// functions compared by target name), data objects as bytes + relocations, plus each
// function's special-section entries. Writes changes (Same/Changed with the first
// difference, New for symbols without twin, removed).
void compare(DiffContext &ctx);

// line_only.cc -- turns back to Same every Changed function whose only differences are
// immediates that are source line numbers (might_sleep(), WARN_ONCE printk lines...),
// checked against DWARF line tables, or else by the callee the value is passed to.
void ignore_line_only_changes(DiffContext &ctx);

// classify.cc -- a changed .cold part changes its function; finds callbacks; explains changes
// that come from inlined callees (DWARF). After: changes is final.
void classify(DiffContext &ctx);

// author_markers.cc -- the kpatch markers of kpatch-macros.h: KPATCH_IGNORE_FUNCTION and
// KPATCH_IGNORE_SECTION turn changes back to Same (with a note) and fill ignored_sections
// (tables select_special_entries drops instead of refusing); KPATCH_FORCE_UNSAFE is refused
// (FORCE_UNSAFE). After: changes is final.
void apply_author_markers(DiffContext &ctx);

// notrace.cc -- a changed function without ftrace entry (notrace, or an out-of-line `inline`)
// cannot be redirected; when every way into it is a call from traceable functions of the
// unit, those callers are patched instead (changes: forced Changed, kind "notrace-callee";
// notrace: the functions copied without klp_func). Otherwise refused with NO_FENTRY.
void patch_notrace_callers(DiffContext &ctx);

// Does `func` (of the patched or original view) start with an ftrace site: `call __fentry__`,
// or the 5-byte NOP that replaces it, recorded in __mcount_loc or carrying an R_X86_64_NONE
// relocation to __fentry__ (after an optional endbr64)?
bool has_ftrace_entry(const DiffContext &ctx, bool patched_side, SymbolId func);

// checks.cc -- refusals on the change set: __init changes, changed data initializers, object
// size changes of writable data, removed references to writable static locals, changes inside
// COMDAT groups.
void check_unsupported(DiffContext &ctx);

// exports.cc -- ___ksymtab+NAME entries: refuses new exports, and changed exported
// functions whose genksyms CRC changed (Options::orig_crcs / patched_crcs); warns about
// exports that change kind or disappear. (The entries themselves are dropped by the
// special-section table: the running kernel's exports stay.)
void check_exports(DiffContext &ctx);

// btf_ids.cc -- refuses a BTF id list or kfunc set (.BTF_ids) whose ids differ from the
// original's list of that name: only the running kernel's resolved ids can be used.
void check_btf_ids(DiffContext &ctx);

// include.cc -- closure of what the output must contain: changed functions (+ their cold
// parts), new global functions/objects, callbacks, and what they reference that the running
// kernel does not have (new symbols, fresh statics, strings and constants). Writes incl.
void include_closure(DiffContext &ctx);

// Adds to the inclusion whatever the code or data in [start, end) of a patched section refers
// to that the running kernel does not have (include.cc; used by the two passes around it).
void include_targets_of(DiffContext &ctx, SectionId sec, u64 start, u64 end, const std::string &who);

// special_select.cc -- picks the special-section entries of included code (and refuses
// unknown allocatable sections that reference included code). Writes special.
void select_special_entries(DiffContext &ctx);

// plan_relocs.cc -- for every symbol the included code references but does not contain,
// decides between a normal relocation (exported by vmlinux, or provided by another object of
// the patch) and a livepatch relocation (.klp.sym.<obj>.<name>,<sympos>), using the target
// symtab and Module.symvers. Function pointers to changed functions keep pointing at the
// original. Writes plan.
void plan_relocations(DiffContext &ctx);

// output.cc -- builds the output object: copied sections/symbols, kept special entries,
// relocations per plan, livepatch relocation records and aliases for the module. Writes out,
// out_info.
void build_output(DiffContext &ctx);

} // namespace kpg::diff
