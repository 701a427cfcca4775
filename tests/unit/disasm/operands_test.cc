// SPDX-License-Identifier: GPL-2.0-only
// Immediates, %rip-relative operands, same_except_immediates(), format() and opcode_name().
// Inputs are byte arrays with the assembly they encode (objdump syntax) in the comment.
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace kpg::disasm {
namespace {

using test::decoder;
using Diffs = std::vector<std::pair<i64, i64>>;

std::vector<i64> imms(const Insn &insn) { return std::vector<i64>(insn.imm, insn.imm + insn.nimm); }

TEST(disasm_operands, MovImmediateToRegisterHasOneImmediate) {
  const u8 code[] = {
      0xbe, 0x2a, 0x00, 0x00, 0x00, // 0: mov $0x2a,%esi
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_EQ(imms(insn), std::vector<i64>{0x2a});
  EXPECT_FALSE(insn.rip_relative);
  EXPECT_FALSE(insn.branch_target.has_value());
}

TEST(disasm_operands, StoreToMemoryHasTheImmediateButNotTheDisplacement) {
  const u8 code[] = {
      0xc7, 0x40, 0x10, 0x05, 0x00, 0x00, 0x00, // 0: movl $0x5,0x10(%rax)
  };
  EXPECT_EQ(imms(decoder().decode_one(code, 0)), std::vector<i64>{5});
}

TEST(disasm_operands, LeaScaleAndDisplacementAreNotImmediates) {
  const u8 code[] = {
      0x48, 0x8d, 0x04, 0x9d, 0x08, 0x00, 0x00, 0x00, // 0: lea 0x8(,%rbx,4),%rax
  };
  EXPECT_EQ(decoder().decode_one(code, 0).nimm, 0);
}

TEST(disasm_operands, Imm8IsSignExtended) {
  const u8 code[] = {
      0x48, 0x83, 0xe4, 0xf0, // 0: and $0xfffffffffffffff0,%rsp
  };
  EXPECT_EQ(imms(decoder().decode_one(code, 0)), std::vector<i64>{-16});
}

TEST(disasm_operands, EnterHasTwoImmediates) {
  const u8 code[] = {
      0xc8, 0x10, 0x00, 0x01, // 0: enter $0x10,$0x1
  };
  EXPECT_EQ(imms(decoder().decode_one(code, 0)), (std::vector<i64>{0x10, 1}));
}

TEST(disasm_operands, ReturnPopCountIsAnImmediate) {
  const u8 code[] = {
      0xc2, 0x08, 0x00, // 0: ret $0x8
  };
  EXPECT_EQ(imms(decoder().decode_one(code, 0)), std::vector<i64>{8});
}

TEST(disasm_operands, BranchDisplacementIsNotAnImmediate) {
  const u8 code[] = {
      0xe8, 0x10, 0x00, 0x00, 0x00, // 0: call 0x15
      0xeb, 0x05,                   // 5: jmp 0xc
  };
  for (const Insn &i : decoder().decode(code))
    EXPECT_EQ(i.nimm, 0) << i.offset;
}

TEST(disasm_operands, ConditionCodeIsNotAnImmediate) {
  const u8 code[] = {
      0x0f, 0x94, 0xc0, // 0: sete %al
      0x0f, 0x44, 0xd8, // 3: cmove %eax,%ebx
  };
  for (const Insn &i : decoder().decode(code))
    EXPECT_EQ(i.nimm, 0) << i.offset;
}

TEST(disasm_operands, RipRelativeLoadIsRipRelative) {
  const u8 code[] = {
      0x8b, 0x05, 0x10, 0x00, 0x00, 0x00, // 0: mov 0x10(%rip),%eax
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_TRUE(insn.rip_relative);
  EXPECT_EQ(insn.nimm, 0);
}

TEST(disasm_operands, RipRelativeCompareHasItsImmediateAfterTheDisplacement) {
  // Why the PC-relative field is not always the last 4 bytes: the imm8 comes after it, and
  // the assembler's relocation addend is -5 rather than -4.
  const u8 code[] = {
      0x83, 0x3d, 0x8e, 0x00, 0x00, 0x00, 0x01, // 0: cmpl $0x1,0x8e(%rip)
  };
  const Insn insn = decoder().decode_one(code, 0);
  EXPECT_EQ(insn.size, 7);
  EXPECT_TRUE(insn.rip_relative);
  EXPECT_EQ(imms(insn), std::vector<i64>{1});
  EXPECT_FALSE(insn.branch_target.has_value());
}

TEST(disasm_operands, RegisterBasedMemoryIsNotRipRelative) {
  const u8 code[] = {
      0x8b, 0x47, 0x10, // 0: mov 0x10(%rdi),%eax
  };
  EXPECT_FALSE(decoder().decode_one(code, 0).rip_relative);
}

TEST(disasm_operands, Addr32RipRelativeIsRipRelative) {
  const u8 code[] = {
      0x67, 0x8b, 0x05, 0x01, 0x00, 0x00, 0x00, // 0: mov 0x1(%eip),%eax
  };
  EXPECT_TRUE(decoder().decode_one(code, 0).rip_relative);
}

TEST(disasm_operands, SameExceptImmediatesReportsTheDifferingPair) {
  const u8 a[] = {
      0xbe, 0x12, 0x00, 0x00, 0x00, // 0: mov $0x12,%esi
  };
  const u8 b[] = {
      0xbe, 0x13, 0x00, 0x00, 0x00, // 0: mov $0x13,%esi
  };
  Diffs diffs;
  EXPECT_TRUE(decoder().same_except_immediates(a, decoder().decode_one(a, 0), b, decoder().decode_one(b, 0), &diffs));
  EXPECT_EQ(diffs, (Diffs{{0x12, 0x13}}));
}

TEST(disasm_operands, SameExceptImmediatesRejectsADifferentRegister) {
  const u8 a[] = {
      0xbe, 0x12, 0x00, 0x00, 0x00, // 0: mov $0x12,%esi
  };
  const u8 b[] = {
      0xba, 0x12, 0x00, 0x00, 0x00, // 0: mov $0x12,%edx
  };
  Diffs diffs;
  EXPECT_FALSE(decoder().same_except_immediates(a, decoder().decode_one(a, 0), b, decoder().decode_one(b, 0), &diffs));
  EXPECT_TRUE(diffs.empty());
}

TEST(disasm_operands, SameExceptImmediatesAcceptsSmallAndLargeImm32) {
  const u8 a[] = {
      0xbe, 0x01, 0x00, 0x00, 0x00, // 0: mov $0x1,%esi
  };
  const u8 b[] = {
      0xbe, 0x45, 0x23, 0x01, 0x00, // 0: mov $0x12345,%esi
  };
  Diffs diffs;
  EXPECT_TRUE(decoder().same_except_immediates(a, decoder().decode_one(a, 0), b, decoder().decode_one(b, 0), &diffs));
  EXPECT_EQ(diffs, (Diffs{{1, 0x12345}}));
}

TEST(disasm_operands, SameExceptImmediatesOfIdenticalInstructionsHasNoDiffs) {
  const u8 a[] = {
      0xc7, 0x40, 0x10, 0x05, 0x00, 0x00, 0x00, // 0: movl $0x5,0x10(%rax)
  };
  Diffs diffs;
  EXPECT_TRUE(decoder().same_except_immediates(a, decoder().decode_one(a, 0), a, decoder().decode_one(a, 0), &diffs));
  EXPECT_TRUE(diffs.empty());
}

TEST(disasm_operands, SameExceptImmediatesReportsTheImmediateNextToAnEqualDisplacement) {
  const u8 a[] = {
      0xc7, 0x40, 0x10, 0x05, 0x00, 0x00, 0x00, // 0: movl $0x5,0x10(%rax)
  };
  const u8 b[] = {
      0xc7, 0x40, 0x10, 0x06, 0x00, 0x00, 0x00, // 0: movl $0x6,0x10(%rax)
  };
  Diffs diffs;
  EXPECT_TRUE(decoder().same_except_immediates(a, decoder().decode_one(a, 0), b, decoder().decode_one(b, 0), &diffs));
  EXPECT_EQ(diffs, (Diffs{{5, 6}}));
}

TEST(disasm_operands, SameExceptImmediatesRejectsADifferentDisplacement) {
  const u8 a[] = {
      0xc7, 0x40, 0x10, 0x05, 0x00, 0x00, 0x00, // 0: movl $0x5,0x10(%rax)
  };
  const u8 b[] = {
      0xc7, 0x40, 0x18, 0x05, 0x00, 0x00, 0x00, // 0: movl $0x5,0x18(%rax)
  };
  EXPECT_FALSE(decoder().same_except_immediates(a, decoder().decode_one(a, 0), b, decoder().decode_one(b, 0), nullptr));
}

TEST(disasm_operands, SameExceptImmediatesRejectsADifferentConditionCode) {
  const u8 a[] = {
      0x74, 0x05, // 0: je 7
  };
  const u8 b[] = {
      0x75, 0x05, // 0: jne 7   (same LLVM opcode JCC_1, condition is an operand)
  };
  const Insn ia = decoder().decode_one(a, 0);
  const Insn ib = decoder().decode_one(b, 0);
  EXPECT_EQ(ia.opcode, ib.opcode);
  EXPECT_FALSE(decoder().same_except_immediates(a, ia, b, ib, nullptr));
}

TEST(disasm_operands, SameExceptImmediatesRejectsADifferentImmediateWidth) {
  const u8 a[] = {
      0x83, 0xc6, 0x01, // 0: add $0x1,%esi     (imm8 form)
  };
  const u8 b[] = {
      0x81, 0xc6, 0x00, 0x02, 0x00, 0x00, // 0: add $0x200,%esi   (imm32 form)
  };
  EXPECT_FALSE(decoder().same_except_immediates(a, decoder().decode_one(a, 0), b, decoder().decode_one(b, 0), nullptr));
}

TEST(disasm_operands, SameExceptImmediatesRejectsLockedAgainstUnlocked) {
  const u8 a[] = {
      0xf0, 0xff, 0x00, // 0: lock incl (%rax)
  };
  const u8 b[] = {
      0xff, 0x40, 0x00, // 0: incl 0x0(%rax)    (same opcode and size, no lock)
  };
  const Insn ia = decoder().decode_one(a, 0);
  const Insn ib = decoder().decode_one(b, 0);
  EXPECT_EQ(ia.opcode, ib.opcode);
  EXPECT_EQ(ia.size, ib.size);
  EXPECT_FALSE(decoder().same_except_immediates(a, ia, b, ib, nullptr));
}

TEST(disasm_operands, SameExceptImmediatesComparesInstructionsAtDifferentOffsets) {
  const u8 a[] = {
      0xbe, 0x12, 0x00, 0x00, 0x00, // 0: mov $0x12,%esi
  };
  const u8 b[] = {
      0x55,                         // 0: push %rbp
      0x48, 0x89, 0xe5,             // 1: mov %rsp,%rbp
      0xbe, 0x14, 0x00, 0x00, 0x00, // 4: mov $0x14,%esi
  };
  Diffs diffs;
  EXPECT_TRUE(decoder().same_except_immediates(a, decoder().decode_one(a, 0), b, decoder().decode_one(b, 4), &diffs));
  EXPECT_EQ(diffs, (Diffs{{0x12, 0x14}}));
}

TEST(disasm_operands, SameExceptImmediatesLeavesDiffsAloneWhenFalse) {
  const u8 a[] = {
      0xc7, 0x40, 0x10, 0x05, 0x00, 0x00, 0x00, // 0: movl $0x5,0x10(%rax)
  };
  const u8 b[] = {
      0xc7, 0x40, 0x18, 0x06, 0x00, 0x00, 0x00, // 0: movl $0x6,0x18(%rax)
  };
  Diffs diffs = {{1, 2}};
  EXPECT_FALSE(decoder().same_except_immediates(a, decoder().decode_one(a, 0), b, decoder().decode_one(b, 0), &diffs));
  EXPECT_EQ(diffs, (Diffs{{1, 2}}));
}

TEST(disasm_operands, FormatPrintsAttSyntaxWithHexImmediates) {
  const u8 code[] = {
      0xbe, 0x2a, 0x00, 0x00, 0x00,             // 0: mov $0x2a,%esi
      0xc7, 0x40, 0x10, 0x05, 0x00, 0x00, 0x00, // 5: movl $0x5,0x10(%rax)
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 2u);
  EXPECT_EQ(decoder().format(code, insns[0]), "movl $0x2a, %esi");
  EXPECT_EQ(decoder().format(code, insns[1]), "movl $0x5, 0x10(%rax)");
}

TEST(disasm_operands, FormatPrintsBranchTargetsAsBufferOffsets) {
  const u8 code[] = {
      0x90,                         // 0: nop
      0xe8, 0x10, 0x00, 0x00, 0x00, // 1: call 0x16
      0x74, 0xf8,                   // 6: je 0
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 3u);
  EXPECT_EQ(decoder().format(code, insns[1]), "callq 0x16");
  EXPECT_EQ(decoder().format(code, insns[2]), "je 0x0");
}

TEST(disasm_operands, FormatPrintsPrefixesOnOneLine) {
  const u8 code[] = {
      0xf0, 0xff, 0x00, // 0: lock incl (%rax)
      0xf3, 0x48, 0xab, // 3: rep stos %rax,%es:(%rdi)
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 2u);
  EXPECT_EQ(decoder().format(code, insns[0]), "lock incl (%rax)");
  EXPECT_EQ(decoder().format(code, insns[1]), "rep stosq %rax, %es:(%rdi)");
}

TEST(disasm_operands, FormatPrintsAnInvalidByteAsAByteDirective) {
  const u8 code[] = {
      0x06, // 0: (bad)
  };
  EXPECT_EQ(decoder().format(code, decoder().decode_one(code, 0)), ".byte 0x06");
}

TEST(disasm_operands, OpcodeNameIsTheLlvmName) {
  const u8 code[] = {
      0xe8, 0x00, 0x00, 0x00, 0x00, // 0: call 5
      0x74, 0x00,                   // 5: je 7
      0x0f, 0x1f, 0x44, 0x00, 0x00, // 7: nopl 0x0(%rax,%rax,1)
      0x0f, 0x0b,                   // c: ud2
  };
  const auto insns = decoder().decode(code);
  ASSERT_EQ(insns.size(), 4u);
  EXPECT_EQ(decoder().opcode_name(insns[0].opcode), "CALL64pcrel32");
  EXPECT_EQ(decoder().opcode_name(insns[1].opcode), "JCC_1");
  EXPECT_EQ(decoder().opcode_name(insns[2].opcode), "NOOPL");
  EXPECT_EQ(decoder().opcode_name(insns[3].opcode), "TRAP");
  EXPECT_EQ(decoder().opcode_name(0xffffffffu), "");
}

} // namespace
} // namespace kpg::disasm
