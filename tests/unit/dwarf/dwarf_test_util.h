// SPDX-License-Identifier: GPL-2.0-only
// Helpers for the lib/dwarf tests: a scratch directory, compiling C written by the test, and
// finding the line of a marker comment in that C so expectations follow the source.
#pragma once
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "elf/model.h"
#include "support/types.h"

namespace kpg::dwarf::test {

// Close to what Kbuild passes for x86-64 objects (CONFIG_FUNCTION_TRACER with fentry).
inline constexpr const char *kKernelCflags = "-O2 -g -ffunction-sections -fdata-sections -mfentry -pg "
                                             "-mrecord-mcount -fno-pic -mcmodel=kernel -mno-red-zone";

using kpg::test::TempDir;

// Runs `cmd` in `dir` through the shell; throws std::runtime_error with its output on failure.
std::string run_ok(const std::string &dir, const std::string &cmd);
void write_text(const std::string &path, const std::string &text);

// Writes dir/<name> (e.g. "a.c") and runs `gcc -c <flags> <name> -o <stem>.o` inside dir, so
// that DW_AT_name is exactly `name` and DW_AT_comp_dir is dir. Returns the object's path.
std::string compile(const TempDir &dir, const std::string &name, const std::string &source, const std::string &flags);
// "-gdwarf-4" / "-gdwarf-5"
std::string dwarf_flag(int version);
// Test-name suffix for a DWARF-version parameter: "dwarf4", "dwarf5".
std::string dwarf_version_name(const ::testing::TestParamInfo<int> &info);

// 1-based line of the first line of `source` containing `marker`; throws if absent.
u32 line_of(const std::string &source, const std::string &marker);

elf::ObjectFile must_read(const std::string &path);
elf::SectionId must_find_section(const elf::ObjectFile &obj, const std::string &name);
const elf::Symbol &must_find_symbol(const elf::ObjectFile &obj, const std::string &name);

// Replaces s.data with its ELF SHF_COMPRESSED form (Elf64_Chdr + zlib), as gcc -gz=zlib.
void compress_section(elf::Section &s);

// Offset of the first x86 `imul $imm8, r/m32, r32` (6b /r ib) with the given immediate in a
// register-direct form: GCC -O2 compiles `x * 42` to `imul $0x2a,%edi,%eax`.
std::optional<u64> find_imul_imm8(const std::vector<u8> &code, u8 imm);

} // namespace kpg::dwarf::test
