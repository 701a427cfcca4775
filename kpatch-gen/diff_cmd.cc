// SPDX-License-Identifier: GPL-2.0-only
//
// `kpatch-gen diff ORIG.o PATCHED.o -o OUT.o`: the object diff engine on its own, for
// debugging a patch, for CI pipelines that drive their own builds, and for the tests.
#include <cstdio>
#include <fmt/format.h>

#include "builder/same_code.h"
#include "builder/verify.h"
#include "commands.h"
#include "elf/reader.h"
#include "diff/pipeline.h"
#include "diff/special_sections.h"
#include "diff/target.h"

namespace kpg::cli {

static std::string diff_help() {
  std::string s =
      "Compare two builds of one translation unit (compiled with the kernel's flags plus "
      "-ffunction-sections -fdata-sections) and write a relocatable object holding the changed "
      "functions, everything they need that the running kernel lacks, their special-section "
      "entries, and livepatch relocation records for the module builder.\n\n"
      "Exit codes:\n"
      "  0  changes found, OUT written\n"
      "  1  refused (each reason printed with a code) or error\n"
      "  2  usage error\n"
      "  3  no functional change (e.g. only __LINE__ values moved); OUT not written\n"
      "(with --check-original, 1 also when ORIG does not reproduce --target: nothing is diffed)\n\n"
      "--check-original runs the check `kpatch-gen build` makes before it trusts its original objects: every "
      "function of ORIG must be in --target with the same size. A size difference is accepted when the "
      "instructions are the same one for one and only a relative branch is encoded differently: kbuild compiles "
      "without -ffunction-sections, so a jump to a static function of the same unit stays inside one .text and "
      "the assembler may encode it as `jmp rel8` (2 bytes) where ORIG, with one section per function, needs "
      "`jmp rel32` (5) and a relocation (fs/fs-writeback.c's wb_start_writeback: 46 bytes in ORIG, 43 in "
      "Debian's vmlinux).\n\n"
      "Refusal codes: INIT_CHANGED, DATA_INIT_CHANGED, OBJECT_SIZE_CHANGED, "
      "STATIC_LOCAL_REF_REMOVED, NO_FENTRY, COMDAT_CHANGED, INIT_REFERENCED, UNKNOWN_SPECIAL_SECTION, "
      "UNSUPPORTED_SPECIAL_SECTION, BAD_SPECIAL_SECTION, BAD_CALLBACK, MODULE_KEY_IN_SPECIAL_ENTRY, "
      "NEW_EXPORT, EXPORTED_ABI_CHANGED, BTF_IDS_CHANGED, TARGET_SYMBOL_NOT_FOUND, WEAK_OVERRIDDEN, "
      "UNSUPPORTED_RELOCATION, INCOMPATIBLE_OBJECTS.\n\n"
      "Exported functions: the export entries (___ksymtab+NAME) of changed functions are dropped, the running "
      "kernel's export stays. With --orig-crcs/--patched-crcs (kbuild's .cmd files of the unit, which hold "
      "`#SYMVER NAME 0xCRC` lines with CONFIG_MODVERSIONS) a changed exported function whose genksyms CRC "
      "changed is refused.\n\n"
      "Dynamic debug: a patched function carries its own pr_debug() descriptors (__dyndbg) and their "
      "jump-label entries; the module loader registers them under the patch module's name, so "
      "'module kvm +p' no longer reaches the patched sites ('module livepatch_NAME +p' does). A descriptor "
      "whose only difference is its line number is a line-only change.\n\n"
      "BTF ids (.BTF_ids): never copied; patched code reads the running kernel's lists through livepatch "
      "relocations to the list names (htab_map_btf_ids).\n\n"
      "Kernel lines: the objects are read with the special-section table of the kernel line they were built "
      "for: --kernel-line, else the release the --target says about itself (a module's vermagic, a vmlinux's "
      "linux_banner), else a section only one line has (___ksymtab+NAME or .data.once: 6.1; .export_symbol, "
      ".data..once or __patchable_function_entries: 6.12), else 6.1 (the report's kernel_line says which and "
      "why). Sources that disagree are an error. 6.12 objects (IBT, CONFIG_CALL_PADDING) start functions with "
      "endbr64 and `call __fentry__` at +4, after 16 bytes of NOP padding that stay with the function; their "
      "__patchable_function_entries are not carried (x86 ftrace reads __mcount_loc).\n\n"
      "Special sections and their built-in x86-64 entry sizes per line (override with --entry-size, "
      "or give a --target vmlinux with DWARF):\n";
  for (diff::KernelLine line : {diff::KernelLine::V6_1, diff::KernelLine::V6_12}) {
    s += fmt::format(" {}:\n", diff::kernel_line_name(line));
    for (const diff::SpecialSection &sp : diff::special_sections(line))
      s += sp.entry_label.empty() ? fmt::format("  {:<20} {:>3} bytes  {}\n", sp.name, sp.default_entry_size, sp.why)
                                  : fmt::format("  {:<20} {:>9}  {}\n", sp.name, "variable", sp.why);
  }
  s += "(a name ending in '*' is a prefix: one section per exported symbol)\n";
  s += "\nExample:\n  kpatch-gen diff orig/fs/proc/cmdline.o patched/fs/proc/cmdline.o -o cmdline.diff.o \\\n"
       "      --target vmlinux --symvers Module.symvers --report cmdline.json\n";
  return s;
}

CLI::App *add_diff_command(CLI::App &app, DiffArgs &a) {
  CLI::App *c = app.add_subcommand("diff", "compare an original and a patched object; write a livepatch diff object");
  c->footer(diff_help());
  c->add_option("ORIG", a.orig, "original object (.o)")->required()->check(CLI::ExistingFile);
  c->add_option("PATCHED", a.patched, "patched object (.o)")->required()->check(CLI::ExistingFile);
  c->add_option("-o,--output", a.out, "output diff object (written atomically)")->required();
  c->add_option("--report", a.report, "write the JSON report here (also on refusal)");
  c->add_option("--objname", a.objname,
                "livepatch object the unit belongs to: vmlinux (default) or the module name ('-' becomes '_')");
  c->add_option("--target", a.target,
                "ELF whose symbol table stands for the running kernel (vmlinux, module .ko, or the original .o); "
                "gives sympos, unexported symbols, and entry sizes from its DWARF")
      ->check(CLI::ExistingFile);
  c->add_option("--symvers", a.symvers, "Module.symvers of the running kernel (what is exported, by whom)")
      ->check(CLI::ExistingFile);
  c->add_option("--entry-size", a.entry_sizes, "SECTION=BYTES: entry size of a special section (repeatable)");
  c->add_option("--kernel-line", a.kernel_line,
                "kernel line the objects were built for (6.1 or 6.12); default: what the target or the objects say")
      ->check(CLI::IsMember({"6.1", "6.12"}));
  c->add_flag("--objtool-at-link", a.objtool_at_link,
              "the module will be linked with objtool (targets with CONFIG_X86_KERNEL_IBT or CONFIG_LTO_CLANG, "
              "e.g. 6.12 cloud kernels): livepatch relocation sites also get relocations objtool can follow, and "
              "objtool's tables (.orc_unwind, .return_sites, .call_sites, ...) are not carried from the inputs; "
              "`kpatch-gen build` decides this from the target's config");
  c->add_option("--orig-crcs", a.orig_crcs,
                "genksyms CRCs of the original build: a file with `#SYMVER NAME 0xCRC` lines (the unit's kbuild .cmd "
                "file); with --patched-crcs, refuses changed exported functions whose CRC changed")
      ->check(CLI::ExistingFile);
  c->add_option("--patched-crcs", a.patched_crcs, "genksyms CRCs of the patched build (see --orig-crcs)")
      ->check(CLI::ExistingFile);
  c->add_flag("--check-original", a.check_original,
              "first check that ORIG reproduces --target (the same functions, the same code); exit 1 if not")
      ->needs(c->get_option("--target"));
  c->add_flag("-q,--quiet", a.quiet, "print only errors");
  return c;
}

// A diff's exit status (the same for `kpatch-gen build`'s units: commands.h).
static ExitCode diff_exit(diff::DiffOutcome o) {
  switch (o) {
  case diff::DiffOutcome::Changed: return ExitCode::Ok;
  case diff::DiffOutcome::NoChange: return ExitCode::NoChange;
  case diff::DiffOutcome::Refused:
  case diff::DiffOutcome::Error: return ExitCode::Failed;
  }
  return ExitCode::Failed;
}

// --check-original: the builder's check of an original object against the running kernel
// (builder/verify.h), on its own.
static ExitCode check_original(const DiffArgs &a, Diag &diag) {
  auto orig = elf::read_object(a.orig);
  if (!diag.check(orig))
    return ExitCode::Failed;
  auto symbols = diff::TargetSymbols::load(a.target);
  if (!diag.check(symbols))
    return ExitCode::Failed;
  build::SameCode same_code;
  build::OriginalCheck c = build::verify_original(*orig, *symbols, a.orig, same_code.check_for(*orig, *symbols));
  for (const std::string &t : c.tolerated)
    diag.note(Location(a.orig), "size differs, same code: " + t);
  for (const std::string &p : c.problems)
    diag.error(Location(), "the original object does not match the target: " + p);
  return c.problems.empty() ? ExitCode::Ok : ExitCode::Failed;
}

ExitCode run_diff_command(const DiffArgs &a) {
  diff::Options opt;
  opt.orig_path = a.orig;
  opt.patched_path = a.patched;
  opt.out_path = a.out;
  opt.report_path = a.report;
  opt.objname = a.objname;
  std::replace(opt.objname.begin(), opt.objname.end(), '-', '_');
  opt.target_path = a.target;
  opt.symvers_path = a.symvers;
  if (!a.kernel_line.empty())
    opt.kernel_line = diff::kernel_line_of(a.kernel_line);
  opt.objtool_at_link = a.objtool_at_link;
  Diag diag;
  diag.set_program("kpatch-gen diff");
  for (const std::string &e : a.entry_sizes) {
    size_t eq = e.find('=');
    char *end = nullptr;
    unsigned long long v = eq == std::string::npos ? 0 : std::strtoull(e.c_str() + eq + 1, &end, 0);
    if (eq == std::string::npos || eq == 0 || !end || *end || v == 0) {
      diag.error(Location(), fmt::format("--entry-size expects SECTION=BYTES, got '{}'", e));
      return ExitCode::Usage;
    }
    std::string sec = e.substr(0, eq);
    bool known = false;
    for (diff::KernelLine line : {diff::KernelLine::V6_1, diff::KernelLine::V6_12})
      for (const diff::SpecialSection &sp : diff::special_sections(line))
        known |= sp.name == sec || sp.aux_section == sec;
    if (!known) {
      diag.error(Location(), fmt::format("--entry-size: '{}' is not a special section kpatch-gen knows (see --help)", sec));
      return ExitCode::Usage;
    }
    opt.entry_sizes[sec] = v;
  }
  if (a.orig_crcs.empty() != a.patched_crcs.empty()) {
    diag.error(Location(), "--orig-crcs and --patched-crcs go together");
    return ExitCode::Usage;
  }
  if (!a.orig_crcs.empty()) {
    for (auto [path, slot] : {std::pair{&a.orig_crcs, &opt.orig_crcs}, std::pair{&a.patched_crcs, &opt.patched_crcs}}) {
      auto crcs = diff::read_symver_crcs(*path);
      if (!crcs) {
        diag.error(crcs.error().loc, crcs.error().message);
        return ExitCode::Usage;
      }
      *slot = std::move(*crcs);
    }
  }
  if (a.check_original) {
    if (ExitCode rc = check_original(a, diag); rc != ExitCode::Ok)
      return rc;
  }
  diff::DiffResult r = diff::run_diff(opt);
  for (const Diagnostic &d : r.diagnostics)
    diag.add(d);
  if (!a.quiet) {
    for (const diff::ChangedSymbol &c : r.changed)
      if (c.reason)
        std::printf("%s: changed %s: %s\n", a.patched.c_str(), c.name.c_str(), diff::difference_summary(*c.reason).c_str());
    for (const diff::NewSymbol &n : r.added)
      if (n.included)
        std::printf("%s: new %s: %s\n", a.patched.c_str(), n.object ? "object" : "function", n.name.c_str());
    for (const diff::LineOnlyChange &l : r.line_only)
      std::printf("%s: unchanged %s: only __LINE__ values differ (%s)\n", a.patched.c_str(), l.name.c_str(),
                  fmt::format("{}", fmt::join(l.lines, ", ")).c_str());
    if (r.outcome == diff::DiffOutcome::NoChange)
      std::printf("%s: no functional change\n", a.patched.c_str());
  }
  return diff_exit(r.outcome);
}

} // namespace kpg::cli
