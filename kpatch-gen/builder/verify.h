// SPDX-License-Identifier: GPL-2.0-only
//
// Checks that a live patch module fits the kernel it is made for, before it is written out
// (a module that fails to load, or loads and patches the wrong code, is worse than no module).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "diff/target.h"
#include "elf/model.h"
#include "support/error.h"

namespace kpg::build {

// key=value pairs of a .modinfo section (repeated keys: last wins; see modinfo_all).
std::map<std::string, std::string> parse_modinfo(const std::vector<u8> &bytes);
std::vector<std::pair<std::string, std::string>> modinfo_all(const std::vector<u8> &bytes);

// "Linux version 6.1.192 (...)" in the target's .rodata -> "6.1.192".
Expected<std::string> kernel_release(const std::string &vmlinux);

struct VerifyInput {
  const elf::ObjectFile *ko = nullptr;
  std::string vmlinux;                  // target
  const diff::Symvers *symvers = nullptr;
};

// Every problem found, one per line (empty: all good):
//  - the module's vermagic is the target's (the exact string is in the target's .rodata,
//    where kernel/module/main.c keeps VERMAGIC_STRING);
//  - with MODVERSIONS every __versions CRC equals the target's Module.symvers;
//  - every undefined symbol is exported by vmlinux (anything else must be a livepatch
//    relocation: the loader resolves only exports, and a module export would make the patch
//    depend on that module being loaded).
std::vector<std::string> verify_module(const VerifyInput &in);

// When a function's size differs from the target's: "" if it is nevertheless the same code
// (see same_code.h: the target's assembler encoded a branch to a function of the same .text
// in its short form), else why not. `target_index` is the function's index in the
// TargetSymbols. Null: every size difference is a mismatch.
using SameCodeCheck = std::function<std::string(const elf::Symbol &ours, u32 target_index)>;

// The result of the checks below: the problems, and the size differences that were
// tolerated because the code is the same (one line each, for a note).
struct OriginalCheck {
  std::vector<std::string> problems;
  std::vector<std::string> tolerated;
};

// The original objects must be the ones the target was built from: the same functions with
// the same sizes (a mismatch means another compiler, config or source, and patching on that
// basis redirects functions to code compiled for a different kernel).
OriginalCheck verify_original(const elf::ObjectFile &orig, const diff::TargetSymbols &target, const std::string &unit,
                              const SameCodeCheck &same_code = nullptr);

// The same check against the target's DWARF compile unit for this source file (the -dbg
// vmlinux says exactly which functions came from which file, with their sizes): every
// function of the original object must be there with the same size. Function names in DWARF
// carry no clone suffix, so `show_map.isra.0` is looked up as `show_map` with its size.
struct DwarfFunction {
  std::string name;
  u64 size = 0;
};
// Functions DWARF does not describe -- aliases (SYSCALL_DEFINE0's __x64_sys_fork is an
// __alias of __do_sys_fork) and code defined in assembly (static call trampolines
// __SCT__*) -- are looked up in the target's symbol table instead.
OriginalCheck verify_original_dwarf(const elf::ObjectFile &orig, const std::vector<DwarfFunction> &cu_functions,
                                    const diff::TargetSymbols &target, const std::string &unit,
                                    const SameCodeCheck &same_code = nullptr);

} // namespace kpg::build
