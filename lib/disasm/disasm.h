// SPDX-License-Identifier: GPL-2.0-only
//
// x86-64 instruction decoding on LLVM MC (no hand-copied decoder).
//
// What the diff needs from a decoder, and nothing more:
//  - instruction boundaries, so relocations and differences can be attributed to an
//    instruction and PC-relative addends can be turned into "what does this point at"
//    (the field is not always the last 4 bytes: `cmpl $1, foo(%rip)` has an imm after it);
//  - relative branch targets that carry no relocation (calls between functions of one
//    shared section such as .sched.text are resolved by the assembler), so they can be
//    compared symbolically and re-relocated when a function is copied out;
//  - immediates, so that a `mov $123, %esi` that is only a __LINE__ value can be told apart
//    from a real change;
//  - the ftrace entry: `call __fentry__` (relocated) or its 5-byte NOP.
// Knows nothing of livepatch or of ELF.
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "support/error.h"
#include "support/types.h"

namespace kpg::disasm {

enum class InsnKind : u8 {
  Other,
  Call,     // call rel32 / call *...
  Jump,     // unconditional jmp (rel8/rel32/indirect)
  CondJump, // jcc, jrcxz, loop
  Return,   // ret / ret imm16
  Nop,      // any NOP form (including multi-byte 0f 1f ...)
  Trap,     // ud2, int3
  Invalid,  // bytes that do not decode; size 1, decoding resumes at the next byte
};

struct Insn {
  u32 offset = 0;   // from the start of the decoded buffer
  u8 size = 0;
  InsnKind kind = InsnKind::Other;
  u32 opcode = 0;   // LLVM MC opcode number: compare for equality, print with opcode_name()
                    // (0 for Invalid; never the number of a decodable x86 instruction)
  // Relative branches (call/jmp/jcc with an embedded PC-relative displacement): the target as
  // an offset in the same coordinates as `offset` (may lie outside the buffer, e.g. a call to
  // the next function of the section), and the width of the displacement field, which is
  // always the last `branch_disp_size` bytes of the instruction: 1 (rel8) or 4 (rel32); 2 only
  // for the operand-size-prefixed `66 e9 rel16` that no compiler emits for x86-64.
  std::optional<i64> branch_target;
  u8 branch_disp_size = 0;
  // Immediate operands in MCInst operand order (`mov $0x2a,%esi` -> {0x2a}).
  u8 nimm = 0;
  i64 imm[2] = {0, 0};
  // Memory operand with %rip base (the displacement is PC-relative).
  bool rip_relative = false;
  // The instruction starts with a lock prefix (f0). LLVM decodes a leading f0 as a separate
  // one-byte LOCK_PREFIX instruction; the decoder merges it into the instruction it locks, as
  // objdump and the CPU do, so that `offset` is the byte a kernel .smp_locks entry points at
  // and `opcode` is that of the locked operation (`lock incl (%rax)` -> INC32m, size 3).
  bool lock_prefix = false;

  u32 end() const { return offset + size; }
  bool is_branch() const { return kind == InsnKind::Call || kind == InsnKind::Jump || kind == InsnKind::CondJump; }
};

// Thread safety: a Decoder is not safe to use from several threads at once, even through its
// const members (LLVM's MCDisassembler and MCInstPrinter keep mutable state). Construction
// takes about 0.3 ms: create one Decoder per thread and reuse it for every function.
class Decoder {
public:
  // Creates an x86-64 decoder (AT&T printer). Fails only if LLVM lacks the X86 target.
  static Expected<Decoder> create_x86_64();
  Decoder(Decoder &&) noexcept;
  Decoder &operator=(Decoder &&) noexcept;
  ~Decoder();

  // Decodes the whole buffer as consecutive instructions.
  std::vector<Insn> decode(std::span<const u8> bytes) const;
  // Decodes one instruction at `offset` of `bytes`; an `offset` at or past the end yields an
  // Invalid insn of size 0.
  Insn decode_one(std::span<const u8> bytes, u32 offset) const;

  // AT&T text of the instruction, e.g. "movl $0x2a, %esi" or "callq 0x10" (branch targets
  // printed as buffer offsets).
  std::string format(std::span<const u8> bytes, const Insn &insn) const;
  std::string opcode_name(u32 opcode) const;

  // True when `a` (in bytes_a) and `b` (in bytes_b) are the same operation on the same
  // operands except for immediate values; the differing (a, b) immediate pairs are appended to
  // `diffs`. Used to recognise `mov $LINE, %esi` style __LINE__ differences.
  // Everything that is not an immediate must be equal: registers, condition codes (je and jne
  // are one LLVM opcode), the lock/rep prefixes and every part of a memory operand including
  // its displacement, and the raw displacement of a relative branch (compare branch_target
  // yourself when the two instructions sit at different offsets). Two Invalid insns are the
  // same when their byte is. `diffs` is only appended to when the result is true; it may be
  // null.
  bool same_except_immediates(std::span<const u8> bytes_a, const Insn &a, std::span<const u8> bytes_b, const Insn &b,
                              std::vector<std::pair<i64, i64>> *diffs) const;

private:
  struct Impl;
  explicit Decoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The 5-byte NOP that ftrace (and `gcc -mnop-mcount`, objtool --mcount) puts at a function's
// entry in place of `call __fentry__`: 0f 1f 44 00 00.
bool is_fentry_nop(std::span<const u8> bytes, u32 offset);
// endbr64 (f3 0f 1e fa): with IBT the ftrace site follows it.
bool is_endbr64(std::span<const u8> bytes, u32 offset);

} // namespace kpg::disasm
