// SPDX-License-Identifier: GPL-2.0-only
// Helpers shared by the lib/elf tests: a scratch directory, running the toolchain on small
// sources written by the test, and "must" wrappers that turn an Error into a test failure
// (as an exception, which GoogleTest reports with the message).
#pragma once
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "elf/model.h"
#include "support/types.h"

namespace kpg::elf::test {

// Flags close to what Kbuild passes for x86-64 objects: fentry/mcount records, one section
// per function and per data object, no PIC, kernel code model.
inline constexpr const char *kKernelCflags = "-O2 -mfentry -pg -mrecord-mcount -ffunction-sections -fdata-sections "
                                             "-fno-pic -mcmodel=kernel -mno-red-zone";

// A kernel-style compilation unit with many kinds of sections (see test_support.cc).
extern const char *const kKernelStyleC;

using kpg::test::TempDir;

struct CmdResult {
  int status = -1;
  std::string output; // stdout and stderr
};
CmdResult run(const std::string &cmd);
// Runs `cmd` and returns its output; throws when it fails.
std::string run_ok(const std::string &cmd);

void write_text(const std::string &path, const std::string &text);
std::vector<u8> read_bytes(const std::string &path);
void write_bytes(const std::string &path, const std::vector<u8> &bytes);

// Writes `source` to dir/name.c (or .s) and compiles (assembles) it to dir/name.o.
std::string compile_c(const TempDir &dir, const std::string &name, const std::string &source,
                      const std::string &extra_flags = "");
std::string assemble(const TempDir &dir, const std::string &name, const std::string &source);

ObjectFile must_read(const std::string &path);
ObjectFile must_read(const std::string &name, const std::vector<u8> &image);
std::vector<u8> must_write(const ObjectFile &obj);
// read(write(obj)): the second half of a round trip.
ObjectFile rewrite(const ObjectFile &obj);

} // namespace kpg::elf::test
