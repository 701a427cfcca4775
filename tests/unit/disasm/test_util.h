// SPDX-License-Identifier: GPL-2.0-only
// Shared helpers of the disasm unit tests: one decoder, a buffer that faults on any read past
// its end, and running the system toolchain (gcc, as, objcopy, objdump) on a temp directory.
#pragma once
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "disasm/disasm.h"
#include "support/types.h"

namespace kpg::disasm::test {

// Created once for the whole test binary (construction is the slow part of a Decoder).
const Decoder &decoder();

// `bytes` copied to the very end of a readable page that is followed by an inaccessible one:
// a decoder that reads one byte too far crashes the test instead of passing by luck.
class GuardedBuffer {
public:
  explicit GuardedBuffer(std::span<const u8> bytes);
  GuardedBuffer(const GuardedBuffer &) = delete;
  GuardedBuffer &operator=(const GuardedBuffer &) = delete;
  ~GuardedBuffer();
  std::span<const u8> span() const { return {data_, size_}; }

private:
  void *map_ = nullptr;
  std::size_t map_size_ = 0;
  const u8 *data_ = nullptr;
  std::size_t size_ = 0;
};

using kpg::test::TempDir;

void write_file(const std::filesystem::path &p, const std::string &text);
// Runs `cmd` through the shell; returns its exit status (stdout/stderr go to the test log).
int run(const std::string &cmd);
// Raw bytes of `section` of object `obj` (objcopy -O binary), independent of lib/elf.
std::vector<u8> section_bytes(const TempDir &dir, const std::filesystem::path &obj, const std::string &section);

struct ObjdumpInsn {
  u32 offset = 0;
  std::string text;  // mnemonic and operands as objdump prints them
};
// `objdump -d` of one section, one entry per instruction.
std::vector<ObjdumpInsn> objdump_insns(const TempDir &dir, const std::filesystem::path &obj, const std::string &section);

} // namespace kpg::disasm::test
