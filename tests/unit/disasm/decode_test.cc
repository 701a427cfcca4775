// SPDX-License-Identifier: GPL-2.0-only
// Decoder::decode / decode_one: boundaries, kinds, relative branches, bad bytes. Inputs are
// byte arrays with the assembly they encode (as objdump prints it) in the comment.
#include <algorithm>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace kpg::disasm {
namespace {

using test::decoder;
using test::GuardedBuffer;

// The last `n` bytes of `insn`, little-endian, sign-extended.
i64 trailing_field(std::span<const u8> bytes, const Insn &insn, u32 n) {
  u64 v = 0;
  for (u32 i = 0; i < n; ++i)
    v |= static_cast<u64>(bytes[insn.end() - n + i]) << (8 * i);
  if (n < 8 && (v >> (8 * n - 1)) != 0)
    v |= ~u64{0} << (8 * n);
  return static_cast<i64>(v);
}

// What the header promises about relative branches: the displacement is the last
// branch_disp_size bytes and target = end + displacement.
void expect_branch_field(std::span<const u8> bytes, const Insn &insn, u8 disp_size, i64 target) {
  ASSERT_TRUE(insn.branch_target.has_value());
  EXPECT_EQ(*insn.branch_target, target);
  EXPECT_EQ(insn.branch_disp_size, disp_size);
  EXPECT_EQ(trailing_field(bytes, insn, disp_size), target - static_cast<i64>(insn.end()));
}

TEST(disasm_decode, EmptyBufferYieldsNoInstructions) {
  EXPECT_TRUE(decoder().decode({}).empty());
}

TEST(disasm_decode, FunctionIsSplitAtInstructionBoundaries) {
  const u8 code[] = {
      0xe8, 0x00, 0x00, 0x00, 0x00, //  0: call __fentry__   (displacement 0 until relocated)
      0x55,                         //  5: push %rbp
      0x48, 0x89, 0xe5,             //  6: mov  %rsp,%rbp
      0x85, 0xff,                   //  9: test %edi,%edi
      0x74, 0x0c,                   //  b: je   19
      0xbe, 0x2a, 0x00, 0x00, 0x00, //  d: mov  $0x2a,%esi
      0xe8, 0x00, 0x00, 0x00, 0x00, // 12: call printk
      0x5d,                         // 17: pop  %rbp
      0xc3,                         // 18: ret
      0x0f, 0x0b,                   // 19: ud2
  };
  const auto insns = decoder().decode(code);
  std::vector<std::pair<u32, u8>> got;
  for (const Insn &i : insns)
    got.emplace_back(i.offset, i.size);
  const std::vector<std::pair<u32, u8>> want = {{0x0, 5},  {0x5, 1},  {0x6, 3},  {0x9, 2},  {0xb, 2},
                                                {0xd, 5},  {0x12, 5}, {0x17, 1}, {0x18, 1}, {0x19, 2}};
  EXPECT_EQ(got, want);
}

TEST(disasm_decode, CallRel32TargetIsEndPlusDisplacement) {
  const u8 code[] = {
      0x90,                         // 0: nop
      0xe8, 0x10, 0x00, 0x00, 0x00, // 1: call 16 (0x6 + 0x10)
  };
  const Insn insn = decoder().decode_one(code, 1);
  EXPECT_EQ(insn.kind, InsnKind::Call);
  EXPECT_TRUE(insn.is_branch());
  expect_branch_field(code, insn, 4, 0x16);
}

TEST(disasm_decode, CallRel32TargetMayLieBeforeTheBuffer) {
  const u8 code[] = {
      0xe8, 0xf6, 0xff, 0xff, 0xff, // 0: call -5 (a function earlier in the same section)
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_EQ(insn.kind, InsnKind::Call);
  expect_branch_field(code, insn, 4, -5);
}

TEST(disasm_decode, JmpRel8HasOneByteDisplacement) {
  const u8 code[] = {
      0xeb, 0x05, // 0: jmp 7
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_EQ(insn.kind, InsnKind::Jump);
  expect_branch_field(code, insn, 1, 7);
}

TEST(disasm_decode, JmpRel32HasFourByteDisplacement) {
  const u8 code[] = {
      0xe9, 0x82, 0x00, 0x00, 0x00, // 0: jmp 0x87
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_EQ(insn.kind, InsnKind::Jump);
  expect_branch_field(code, insn, 4, 0x87);
}

TEST(disasm_decode, JccRel8IsCondJumpWithOneByteDisplacement) {
  const u8 code[] = {
      0x90,       // 0: nop
      0x74, 0xfd, // 1: je 0 (backwards: 3 - 3)
  };
  const Insn insn = decoder().decode_one(code, 1);
  EXPECT_EQ(insn.kind, InsnKind::CondJump);
  expect_branch_field(code, insn, 1, 0);
}

TEST(disasm_decode, JccRel32IsCondJumpWithFourByteDisplacement) {
  const u8 code[] = {
      0x0f, 0x85, 0x00, 0x01, 0x00, 0x00, // 0: jne 0x106
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_EQ(insn.kind, InsnKind::CondJump);
  expect_branch_field(code, insn, 4, 0x106);
}

TEST(disasm_decode, JrcxzAndLoopAreCondJumps) {
  const u8 code[] = {
      0xe3, 0x02, // 0: jrcxz 4
      0xe2, 0xfc, // 2: loop 0
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 2u);
  EXPECT_EQ(insns[0].kind, InsnKind::CondJump);
  expect_branch_field(code, insns[0], 1, 4);
  EXPECT_EQ(insns[1].kind, InsnKind::CondJump);
  expect_branch_field(code, insns[1], 1, 0);
}

TEST(disasm_decode, PrefixedBranchesKeepTheDisplacementLast) {
  const u8 code[] = {
      0x2e, 0xe8, 0x10, 0x00, 0x00, 0x00, // 0: cs call 0x16 (-mindirect-branch-cs-prefix)
      0x3e, 0x74, 0x05,                   // 6: ds je 0xe (branch-taken hint)
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 2u);
  EXPECT_EQ(insns[0].size, 6);
  expect_branch_field(code, insns[0], 4, 0x16);
  EXPECT_EQ(insns[1].size, 3);
  expect_branch_field(code, insns[1], 1, 0xe);
}

TEST(disasm_decode, OperandSizePrefixedJmpHasTwoByteDisplacement) {
  const u8 code[] = {
      0x66, 0xe9, 0x10, 0x00, // 0: jmpw 0x14 (rel16; no compiler emits it for x86-64)
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_EQ(insn.kind, InsnKind::Jump);
  expect_branch_field(code, insn, 2, 0x14);
}

TEST(disasm_decode, IndirectCallsHaveNoTarget) {
  const u8 code[] = {
      0xff, 0xd0,                         // 0: call *%rax
      0xff, 0x50, 0x10,                   // 2: call *0x10(%rax)
      0xff, 0x15, 0x10, 0x00, 0x00, 0x00, // 5: call *0x10(%rip)
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 3u);
  for (const Insn &i : insns) {
    EXPECT_EQ(i.kind, InsnKind::Call) << i.offset;
    EXPECT_FALSE(i.branch_target.has_value()) << i.offset;
    EXPECT_EQ(i.branch_disp_size, 0) << i.offset;
  }
}

TEST(disasm_decode, IndirectJumpsHaveNoTarget) {
  const u8 code[] = {
      0xff, 0xe0,       // 0: jmp *%rax
      0x3e, 0xff, 0xe0, // 2: notrack jmp *%rax (IBT-exempt switch jump)
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 2u);
  for (const Insn &i : insns) {
    EXPECT_EQ(i.kind, InsnKind::Jump) << i.offset;
    EXPECT_FALSE(i.branch_target.has_value()) << i.offset;
  }
}

TEST(disasm_decode, ReturnsAreReturn) {
  const u8 code[] = {
      0xc3,             // 0: ret
      0xc2, 0x08, 0x00, // 1: ret $0x8
      0xf3, 0xc3,       // 4: repz ret
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 3u);
  for (const Insn &i : insns) {
    EXPECT_EQ(i.kind, InsnKind::Return) << i.offset;
    EXPECT_FALSE(i.is_branch()) << i.offset;
  }
}

TEST(disasm_decode, MultiByteNopsAreNops) {
  const u8 code[] = {
      0x90,                                                       //  0: nop
      0x66, 0x90,                                                 //  1: xchg %ax,%ax
      0x0f, 0x1f, 0x00,                                           //  3: nopl (%rax)
      0x0f, 0x1f, 0x40, 0x00,                                     //  6: nopl 0x0(%rax)
      0x0f, 0x1f, 0x44, 0x00, 0x00,                               //  a: nopl 0x0(%rax,%rax,1)
      0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,                         //  f: nopw 0x0(%rax,%rax,1)
      0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00,                   // 15: nopl 0x0(%rax)
      0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,             // 1c: nopl 0x0(%rax,%rax,1)
      0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,       // 24: nopw 0x0(%rax,%rax,1)
      0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, // 2d: cs nopw 0x0(%rax,%rax,1)
      0x0f, 0x1f, 0xc0,                                           // 37: nopl %eax
  };
  const auto insns = decoder().decode(code);
  const std::vector<u32> want_offsets = {0x0, 0x1, 0x3, 0x6, 0xa, 0xf, 0x15, 0x1c, 0x24, 0x2d, 0x37};
  ASSERT_EQ(insns.size(), want_offsets.size());
  for (std::size_t k = 0; k < insns.size(); ++k) {
    EXPECT_EQ(insns[k].offset, want_offsets[k]);
    EXPECT_EQ(insns[k].kind, InsnKind::Nop) << insns[k].offset;
    EXPECT_EQ(insns[k].nimm, 0) << insns[k].offset;
  }
}

TEST(disasm_decode, FentryNopIsOneFiveByteNop) {
  const u8 code[] = {
      0x0f, 0x1f, 0x44, 0x00, 0x00, // 0: nopl 0x0(%rax,%rax,1)  (ftrace site, disabled)
      0x55,                         // 5: push %rbp
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_EQ(insn.kind, InsnKind::Nop);
  EXPECT_EQ(insn.size, 5);
  EXPECT_TRUE(is_fentry_nop(code, 0));
}

TEST(disasm_decode, Ud2IsTrap) {
  const u8 code[] = {
      0x0f, 0x0b, // 0: ud2  (BUG())
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_EQ(insn.kind, InsnKind::Trap);
  EXPECT_EQ(insn.size, 2);
}

TEST(disasm_decode, Int3IsTrap) {
  const u8 code[] = {
      0xcc, // 0: int3  (padding after `jmp __x86_return_thunk`)
  };
  EXPECT_EQ(decoder().decode_one(code, 0).kind, InsnKind::Trap);
}

TEST(disasm_decode, Ud1IsTrap) {
  const u8 code[] = {
      0x0f, 0xb9, 0xc8, // 0: ud1 %eax,%ecx
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_EQ(insn.kind, InsnKind::Trap);
  EXPECT_EQ(insn.size, 3);
}

TEST(disasm_decode, InvalidByteYieldsOneByteInsnAndDecodingResumes) {
  const u8 code[] = {
      0x06,             // 0: (bad)  push %es does not exist in 64-bit mode
      0xd6,             // 1: (bad)  nor does salc
      0x48, 0x89, 0xe5, // 2: mov %rsp,%rbp  (back in step)
      0xc3,             // 5: ret
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 4u);
  EXPECT_EQ(insns[0].kind, InsnKind::Invalid);
  EXPECT_EQ(insns[0].offset, 0u);
  EXPECT_EQ(insns[0].size, 1);
  EXPECT_EQ(insns[1].kind, InsnKind::Invalid);
  EXPECT_EQ(insns[1].offset, 1u);
  EXPECT_EQ(insns[1].size, 1);
  EXPECT_EQ(insns[2].offset, 2u);
  EXPECT_EQ(insns[2].size, 3);
  EXPECT_EQ(insns[3].kind, InsnKind::Return);
}

TEST(disasm_decode, TruncatedCallAtEndIsInvalidWithoutReadingPastTheEnd) {
  const u8 code[] = {
      0xe8, 0x00, 0x00, // 0: call rel32 missing its last two bytes
  };
  const GuardedBuffer buf(code); // reading code[3] would fault
  const auto insns = decoder().decode(buf.span());
  ASSERT_FALSE(insns.empty());
  EXPECT_EQ(insns[0].kind, InsnKind::Invalid);
  EXPECT_EQ(insns[0].size, 1);
  EXPECT_EQ(insns.back().end(), 3u);
}

TEST(disasm_decode, EveryTruncationOfAnInstructionStaysInBounds) {
  const std::vector<std::vector<u8>> full = {
      {0x48, 0xb8, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00},       // movabs $0x123456789,%rax
      {0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},       // cs nopw 0x0(%rax,%rax,1)
      {0x64, 0xc7, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}, // movl $0x1,%fs:0x28
      {0x62, 0xf1, 0xed, 0x18, 0x58, 0xd9},                               // vaddpd {rn-sae},%zmm1,%zmm2,%zmm3
      {0xc4, 0xe2, 0x79, 0x18, 0x05, 0x00, 0x00, 0x00, 0x00},             // vbroadcastss 0x0(%rip),%xmm0
  };
  // A cut-off instruction is Invalid, or, when only prefixes remain, one of LLVM's
  // prefix-only pseudo instructions (`66 2e` at the end decodes as "cs", CS_PREFIX): never
  // the whole instruction, and never more bytes than there are.
  for (const auto &insn : full) {
    const u32 whole = decoder().decode_one(insn, 0).opcode;
    for (std::size_t len = 1; len < insn.size(); ++len) {
      const GuardedBuffer buf(std::span<const u8>(insn.data(), len));
      const Insn first = decoder().decode_one(buf.span(), 0);
      EXPECT_LE(first.end(), len);
      EXPECT_TRUE(first.kind == InsnKind::Invalid || first.kind == InsnKind::Other) << "length " << len;
      EXPECT_NE(first.opcode, whole) << "length " << len;
      const auto all = decoder().decode(buf.span());
      ASSERT_FALSE(all.empty());
      EXPECT_EQ(all.back().end(), len);
    }
  }
}

TEST(disasm_decode, RandomBytesDecodeToConsecutiveInstructionsCoveringTheBuffer) {
  std::mt19937 rng(12345);
  std::vector<u8> bytes(1 << 16);
  for (u8 &b : bytes)
    b = static_cast<u8>(rng());
  const GuardedBuffer buf(bytes);
  const auto insns = decoder().decode(buf.span());
  u32 expect = 0;
  for (const Insn &i : insns) {
    ASSERT_EQ(i.offset, expect);
    ASSERT_GE(i.size, 1);
    ASSERT_LE(i.size, 15);
    expect = i.end();
  }
  EXPECT_EQ(expect, bytes.size());
}

TEST(disasm_decode, LockPrefixIsMergedWithTheInstructionItLocks) {
  const u8 code[] = {
      0xf0, 0xff, 0x00,             // 0: lock incl (%rax)
      0xf0, 0x48, 0x0f, 0xc1, 0x07, // 3: lock xadd %rax,(%rdi)
      0xff, 0x00,                   // 8: incl (%rax)
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 3u);
  EXPECT_EQ(insns[0].size, 3);
  EXPECT_TRUE(insns[0].lock_prefix);
  EXPECT_EQ(decoder().opcode_name(insns[0].opcode), "INC32m");
  EXPECT_EQ(insns[1].offset, 3u);
  EXPECT_EQ(insns[1].size, 5);
  EXPECT_TRUE(insns[1].lock_prefix);
  EXPECT_FALSE(insns[2].lock_prefix);
  EXPECT_EQ(insns[2].opcode, insns[0].opcode);
}

TEST(disasm_decode, LockPrefixWithNothingDecodableAfterItIsOneByte) {
  const u8 code[] = {
      0xf0, // 0: lock  (end of buffer)
  };
  const GuardedBuffer buf(code);
  const auto insns = decoder().decode(buf.span());
  ASSERT_EQ(insns.size(), 1u);
  EXPECT_EQ(insns[0].size, 1);
  EXPECT_EQ(insns[0].kind, InsnKind::Other);
  EXPECT_FALSE(insns[0].lock_prefix);
  EXPECT_EQ(decoder().opcode_name(insns[0].opcode), "LOCK_PREFIX");
}

TEST(disasm_decode, DecodeOneAtAnOffsetDecodesThatInstruction) {
  const u8 code[] = {
      0x55,                         // 0: push %rbp
      0x48, 0x89, 0xe5,             // 1: mov  %rsp,%rbp
      0xe8, 0x00, 0x00, 0x00, 0x00, // 4: call 9
  };
  const Insn insn = decoder().decode_one(code, 4);
  EXPECT_EQ(insn.offset, 4u);
  EXPECT_EQ(insn.size, 5);
  EXPECT_EQ(insn.kind, InsnKind::Call);
  expect_branch_field(code, insn, 4, 9);
  const auto all = decoder().decode(code);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].opcode, insn.opcode);
}

TEST(disasm_decode, DecodeOneAtTheEndIsInvalidOfSizeZero) {
  const u8 code[] = {
      0xc3, // 0: ret
  };
  const Insn insn = decoder().decode_one(code, 1);
  EXPECT_EQ(insn.kind, InsnKind::Invalid);
  EXPECT_EQ(insn.size, 0);
  EXPECT_EQ(decoder().decode_one(code, 1000).size, 0);
}

TEST(disasm_decode, IsFentryNopChecksBytesAndBounds) {
  const u8 code[] = {
      0x90,                         // 0: nop
      0x0f, 0x1f, 0x44, 0x00, 0x00, // 1: nopl 0x0(%rax,%rax,1)
  };
  EXPECT_TRUE(is_fentry_nop(code, 1));
  EXPECT_FALSE(is_fentry_nop(code, 0));
  EXPECT_FALSE(is_fentry_nop(std::span<const u8>(code, 5), 1)); // last byte cut off
  EXPECT_FALSE(is_fentry_nop(code, 6));
  EXPECT_FALSE(is_fentry_nop(code, 0xffffffffu));
  EXPECT_FALSE(is_fentry_nop({}, 0));
}

TEST(disasm_decode, IsEndbr64ChecksBytesAndBounds) {
  const u8 code[] = {
      0xf3, 0x0f, 0x1e, 0xfa, // 0: endbr64
      0xf3, 0x0f, 0x1e, 0xfb, // 4: endbr32
  };
  EXPECT_TRUE(is_endbr64(code, 0));
  EXPECT_FALSE(is_endbr64(code, 4));
  EXPECT_FALSE(is_endbr64(std::span<const u8>(code, 3), 0));
  EXPECT_FALSE(is_endbr64(code, 8));
  EXPECT_FALSE(is_endbr64(code, 0xffffffffu));
  EXPECT_EQ(decoder().decode_one(code, 0).kind, InsnKind::Other);
}

} // namespace
} // namespace kpg::disasm
