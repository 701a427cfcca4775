// SPDX-License-Identifier: GPL-2.0-only
//
// Is a function of our original object the same code as the target's copy although the sizes
// differ? The builder compiles the original objects with -ffunction-sections (the diff needs
// one section per function); kbuild compiles the kernel without it, so all of a unit's
// functions share one .text. A tail call (or any jump) to a static function of the same unit
// is then a jump within one section, which the assembler resolves itself and encodes in the
// shortest form when the callee is within 128 bytes: `jmp rel8` (2 bytes) instead of
// `jmp rel32` (5; `jcc` 2 instead of 6). In our object the callee is in another section, so
// the jump must stay rel32 with a relocation. Debian 6.1.0-53's fs/fs-writeback.c:
//
//   target (vmlinux)  ffffffff813864f4: eb 8a           jmp wb_wakeup        wb_start_writeback: 43 bytes
//   ours              24: e9 00 00 00 00  jmp .text.wb_wakeup-0x4 (PC32)     wb_start_writeback: 46 bytes
//
// (and net/bridge/br_multicast.c's br_ip4_multicast_query_expired, 17 vs 20 bytes, in
// bridge.ko: `eb 8f jmp br_multicast_query_expired.constprop.0`).
//
// Such a pair is the same program. Anything else that changes a size is not: this compares
// the two instruction streams one instruction at a time.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "builder/verify.h"
#include "diff/target.h"
#include "disasm/disasm.h"
#include "elf/model.h"

namespace kpg::build {

// The target's code: a linked vmlinux (symbol values are addresses; no relocations needed)
// or a module .ko / object (values are section offsets; relocations say where rel32 fields
// point).
class TargetCode {
public:
  explicit TargetCode(const elf::ObjectFile &obj);
  const elf::ObjectFile &obj() const { return obj_; }
  // Names of the symbols a branch destination lands on, as "name+0xOFF" (several for
  // aliases at one address); empty when no function covers it.
  std::vector<std::string> names_at(elf::SectionId sec, u64 value) const;

private:
  const elf::ObjectFile &obj_;
  // (section, value) -> symbol, functions and untyped labels, sorted for lookups.
  std::vector<std::tuple<u32, u64, u64, std::string>> by_value_; // section, value, size, name
};

// "" when `ours` (in `ours_obj`) and `theirs` (in `target`) are the same instructions, one for
// one: the same opcodes and bytes, except that a relative branch may be encoded with a rel8
// in one and a rel32 in the other as long as both branch the same way (same condition) to
// the same place (the same instruction of the function, or the same symbol and offset
// outside it); bytes under a relocation are not compared (they are filled in at link or
// load time). Otherwise the first difference, e.g. "+0x24: jmp .text.wb_wakeup vs +0x24:
// movl ...".
std::string code_difference(const disasm::Decoder &dec, const elf::ObjectFile &ours_obj, const elf::Symbol &ours,
                            const TargetCode &target, const elf::Symbol &theirs);

// code_difference() as verify_original()'s SameCodeCheck (`kpatch-gen build`'s check stage and
// `kpatch-gen diff --check-original`). The decoder and each target's code are made on the
// first size difference only (a Debian vmlinux's code is ~60 MB) and kept for the next ones.
class SameCode {
public:
  // The check of `orig`'s functions against `target`; both must outlive it.
  SameCodeCheck check_for(const elf::ObjectFile &orig, const diff::TargetSymbols &target);

private:
  std::string difference(const elf::ObjectFile &orig, const elf::Symbol &ours, const diff::TargetSymbols &target,
                         u32 target_index);
  std::optional<disasm::Decoder> decoder_;
  struct Code {
    std::unique_ptr<elf::ObjectFile> obj;
    std::unique_ptr<TargetCode> code;
  };
  std::map<std::string, Code> targets_; // by the target's path
};

} // namespace kpg::build
