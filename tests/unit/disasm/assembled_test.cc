// SPDX-License-Identifier: GPL-2.0-only
// The decoder against real toolchain output: C and assembly are compiled at test time with
// the system gcc/as, the section bytes are extracted with objcopy, and boundaries and branch
// targets are checked against objdump -d.
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace kpg::disasm {
namespace {

using test::decoder;
using test::TempDir;

// Kernel-flavoured code: a lock-prefixed atomic, BUG(), a WARN-style printk with __LINE__, a
// switch (jump table), loops, calls, an inlined memset (rep stos) and a cold path.
constexpr const char *kKernelStyleC = R"(
struct list_head { struct list_head *next, *prev; };
typedef struct { int counter; } atomic_t;
struct dev { atomic_t refs; int state; unsigned long flags; struct list_head list; char name[16]; };
extern int printk(const char *fmt, ...);
extern void *kmalloc(unsigned long size, unsigned flags);
extern void schedule(void);
static inline void atomic_inc(atomic_t *v) { asm volatile("lock; incl %0" : "+m"(v->counter)); }
#define BUG() do { asm volatile("ud2"); __builtin_unreachable(); } while (0)
#define WARN_ON(c) ({ int __c = !!(c); if (__builtin_expect(__c, 0)) printk("WARNING at %s:%d\n", __FILE__, __LINE__); __c; })

int dev_poll(struct dev *d, int budget) {
  int done = 0;
  if (!d)
    BUG();
  atomic_inc(&d->refs);
  while (done < budget) {
    switch (d->state) {
    case 0: done += 2; break;
    case 1: schedule(); break;
    case 2: d->flags |= 1UL << (done & 63); done++; break;
    case 3: return -5;
    case 4: d->flags = 0; break;
    case 5: d->state = 0; break;
    default: WARN_ON(1); done++;
    }
    if (d->flags & 0x8000)
      break;
  }
  for (int i = 0; i < 16 && d->name[i]; i++)
    done ^= d->name[i] * 31;
  return done;
}

struct dev *dev_alloc(unsigned long n) {
  struct dev *d = kmalloc(sizeof(*d) * n, 0xcc0);
  if (!d) {
    printk("dev_alloc: %lu failed at line %d\n", n, __LINE__);
    return 0;
  }
  __builtin_memset(d, 0, sizeof(*d) * n);
  d->list.next = d->list.prev = &d->list;
  return d;
}
)";

constexpr const char *kKernelFlags = "-O2 -mfentry -pg -mrecord-mcount -fno-pic -mcmodel=kernel -mno-red-zone "
                                     "-ffunction-sections -mno-sse -mno-mmx -mno-sse2 -mno-avx "
                                     "-fno-asynchronous-unwind-tables";

std::filesystem::path compile(const TempDir &dir, const std::string &name, const std::string &source,
                              const std::string &flags) {
  const std::filesystem::path src = dir.file(name);
  const std::filesystem::path obj = dir.file(name + ".o");
  test::write_file(src, source);
  const std::string cmd = "gcc " + flags + " -c '" + src.string() + "' -o '" + obj.string() + "'";
  EXPECT_EQ(test::run(cmd), 0) << cmd;
  return obj;
}

std::vector<u32> offsets(const std::vector<Insn> &insns) {
  std::vector<u32> out;
  for (const Insn &i : insns)
    out.push_back(i.offset);
  return out;
}

std::vector<u32> offsets(const std::vector<test::ObjdumpInsn> &insns) {
  std::vector<u32> out;
  for (const auto &i : insns)
    out.push_back(i.offset);
  return out;
}

// Boundaries equal objdump's and nothing decodes as Invalid. Returns the decoded insns.
std::vector<Insn> expect_boundaries_match_objdump(const TempDir &dir, const std::filesystem::path &obj,
                                                  const std::string &section, const std::vector<u8> &bytes) {
  const auto reference = test::objdump_insns(dir, obj, section);
  EXPECT_FALSE(reference.empty()) << section;
  const auto insns = decoder().decode(bytes);
  EXPECT_EQ(offsets(insns), offsets(reference)) << section;
  for (const Insn &i : insns)
    EXPECT_NE(i.kind, InsnKind::Invalid) << section << "+" << i.offset;
  return insns;
}

// What objdump says about a branch: "jmp    2b <dev_poll+0x2b>" is direct with a target,
// "notrack jmp *%rax" indirect. Parsed by hand: std::regex trips GCC 12's
// -Wmaybe-uninitialized under -fsanitize.
struct ObjdumpBranch {
  bool is_branch = false;
  std::optional<i64> target;
};

ObjdumpBranch parse_objdump_branch(const std::string &text) {
  std::istringstream in(text);
  std::string word;
  while (in >> word && (word == "cs" || word == "ds" || word == "bnd" || word == "notrack")) {
  }
  if (!(word[0] == 'j' || word == "call" || word.rfind("loop", 0) == 0))
    return {};
  std::string operand;
  std::string symbol;
  in >> operand >> symbol;
  ObjdumpBranch b;
  b.is_branch = true;
  if (!operand.empty() && operand[0] != '*' && symbol.rfind("<", 0) == 0)
    b.target = static_cast<i64>(std::stoull(operand, nullptr, 16));
  return b;
}

// Every direct branch objdump prints with a target has that target, and its displacement is
// the trailing branch_disp_size bytes; indirect ones have none. Returns how many branches
// were checked.
int expect_branch_targets_match_objdump(const TempDir &dir, const std::filesystem::path &obj,
                                        const std::string &section, const std::vector<u8> &bytes) {
  int checked = 0;
  for (const auto &ref : test::objdump_insns(dir, obj, section)) {
    const ObjdumpBranch b = parse_objdump_branch(ref.text);
    if (!b.is_branch)
      continue;
    const Insn insn = decoder().decode_one(bytes, ref.offset);
    EXPECT_TRUE(insn.is_branch()) << ref.text;
    EXPECT_EQ(insn.branch_target, b.target) << ref.text;
    ++checked;
    if (!b.target)
      continue;
    EXPECT_TRUE(insn.branch_disp_size == 1 || insn.branch_disp_size == 4) << ref.text;
    i64 disp = 0;
    if (insn.branch_disp_size == 1)
      disp = static_cast<i8>(bytes[insn.end() - 1]);
    else if (insn.branch_disp_size == 4)
      disp = static_cast<i32>(bytes[insn.end() - 4] | bytes[insn.end() - 3] << 8 | bytes[insn.end() - 2] << 16 |
                              static_cast<u32>(bytes[insn.end() - 1]) << 24);
    EXPECT_EQ(static_cast<i64>(insn.end()) + disp, *b.target) << ref.text;
  }
  return checked;
}

TEST(disasm_assembled, KernelStyleFunctionBoundariesMatchObjdump) {
  const TempDir dir;
  const auto obj = compile(dir, "dev.c", kKernelStyleC, kKernelFlags);
  for (const std::string section : {".text.dev_poll", ".text.dev_alloc"}) {
    const auto bytes = test::section_bytes(dir, obj, section);
    ASSERT_FALSE(bytes.empty()) << section;
    expect_boundaries_match_objdump(dir, obj, section, bytes);
  }
}

TEST(disasm_assembled, KernelStyleFunctionBranchTargetsMatchObjdump) {
  const TempDir dir;
  const auto obj = compile(dir, "dev.c", kKernelStyleC, kKernelFlags);
  int checked = 0;
  for (const std::string section : {".text.dev_poll", ".text.dev_alloc"}) {
    const auto bytes = test::section_bytes(dir, obj, section);
    ASSERT_FALSE(bytes.empty()) << section;
    checked += expect_branch_targets_match_objdump(dir, obj, section, bytes);
  }
  EXPECT_GE(checked, 10); // calls, the loop's jcc and the jump table's jmp *
}

TEST(disasm_assembled, KernelStyleFunctionLockedIncrementIsOneInstruction) {
  const TempDir dir;
  const auto obj = compile(dir, "dev.c", kKernelStyleC, kKernelFlags);
  const auto bytes = test::section_bytes(dir, obj, ".text.dev_poll");
  int locked = 0;
  for (const Insn &i : decoder().decode(bytes)) {
    if (!i.lock_prefix)
      continue;
    ++locked;
    EXPECT_EQ(bytes[i.offset], 0xf0);
    EXPECT_EQ(decoder().format(bytes, i).rfind("lock incl ", 0), 0u) << decoder().format(bytes, i);
  }
  EXPECT_EQ(locked, 1);
}

TEST(disasm_assembled, KernelStyleFunctionStartsWithFentryCall) {
  const TempDir dir;
  const auto obj = compile(dir, "dev.c", kKernelStyleC, kKernelFlags);
  const auto bytes = test::section_bytes(dir, obj, ".text.dev_poll");
  const Insn first = decoder().decode_one(bytes, 0);
  EXPECT_EQ(first.kind, InsnKind::Call);
  EXPECT_EQ(first.size, 5);
  // In the .o the rel32 is 0 (RELA addend holds the -4), so the target is the next insn.
  EXPECT_EQ(first.branch_target, std::optional<i64>(5));
}

TEST(disasm_assembled, IbtFunctionStartsWithEndbr64ThenFentryCall) {
  const TempDir dir;
  const auto obj = compile(dir, "dev.c", kKernelStyleC, std::string(kKernelFlags) + " -fcf-protection=branch");
  const auto bytes = test::section_bytes(dir, obj, ".text.dev_poll");
  ASSERT_TRUE(is_endbr64(bytes, 0));
  const auto insns = expect_boundaries_match_objdump(dir, obj, ".text.dev_poll", bytes);
  ASSERT_GE(insns.size(), 2u);
  EXPECT_EQ(insns[0].size, 4);
  EXPECT_EQ(insns[1].offset, 4u);
  EXPECT_EQ(insns[1].kind, InsnKind::Call);
}

TEST(disasm_assembled, NopMcountEntryIsFentryNop) {
  const TempDir dir;
  const auto obj = compile(dir, "dev.c", kKernelStyleC, std::string(kKernelFlags) + " -mnop-mcount");
  const auto bytes = test::section_bytes(dir, obj, ".text.dev_poll");
  ASSERT_TRUE(is_fentry_nop(bytes, 0));
  const auto insns = expect_boundaries_match_objdump(dir, obj, ".text.dev_poll", bytes);
  ASSERT_FALSE(insns.empty());
  EXPECT_EQ(insns[0].kind, InsnKind::Nop);
  EXPECT_EQ(insns[0].size, 5);
}

TEST(disasm_assembled, JumpWidthsAreTheOnesTheAssemblerChose) {
  const TempDir dir;
  const auto obj = compile(dir, "jumps.s", R"(
  .text
  .globl f
f:
  jmp 1f            # 0x0: near target: eb rel8
  jmp 2f            # 0x2: 200+ bytes away: e9 rel32
1:
  je 1b             # 0x7: 74 rel8
  jne 2f            # 0x9: 0f 85 rel32
  .skip 200, 0x90
2:
  call 1b           # e8 rel32
  ret
)",
                           "");
  const auto bytes = test::section_bytes(dir, obj, ".text");
  const auto insns = expect_boundaries_match_objdump(dir, obj, ".text", bytes);
  ASSERT_GE(insns.size(), 4u);
  const u32 label2 = 0xf + 200;
  EXPECT_EQ(insns[0].branch_disp_size, 1);
  EXPECT_EQ(insns[0].branch_target, std::optional<i64>(7));
  EXPECT_EQ(insns[1].branch_disp_size, 4);
  EXPECT_EQ(insns[1].branch_target, std::optional<i64>(label2));
  EXPECT_EQ(insns[2].branch_disp_size, 1);
  EXPECT_EQ(insns[2].branch_target, std::optional<i64>(7));
  EXPECT_EQ(insns[3].kind, InsnKind::CondJump);
  EXPECT_EQ(insns[3].branch_disp_size, 4);
  EXPECT_EQ(insns[3].branch_target, std::optional<i64>(label2));
  EXPECT_GE(expect_branch_targets_match_objdump(dir, obj, ".text", bytes), 5);
}

TEST(disasm_assembled, AssortedKernelInstructionBoundariesMatchObjdump) {
  const TempDir dir;
  const auto obj = compile(dir, "assorted.s", R"(
  .text
  .globl g
g:
  endbr64
  nopl 0x0(%rax,%rax,1)
  lock cmpxchgq %rsi, (%rdi)
  lock xaddl %eax, 0x10(%rdi)
  lock btsq $3, foo(%rip)
  cmpl $1, foo(%rip)
  movl $5, 0x10(%rax)
  movq $-1, %gs:0x28
  movabs $0x123456789abcdef, %rax
  movabs foo, %eax
  rep stosq
  rep movsb
  swapgs
  rdmsr
  wrmsr
  cpuid
  rdtsc
  stac
  clac
  lfence
  mfence
  pause
  bswap %rax
  popcnt %rdi, %rax
  crc32q %rsi, %rax
  cmpxchg16b (%rdi)
  enter $0x10, $0
  leave
  notrack jmp *%rax
  cs call *%r11
  jmp *0x0(,%rax,8)
  vpxor %ymm0, %ymm1, %ymm2
  vmovdqu8 (%rdi), %zmm1{%k1}
  movdqu 0x10(%rip), %xmm3
  xchg %ax, %ax
  .byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00
  int3
  ud2
  iretq
  sysretq
foo:
  ret
)",
                           "");
  const auto bytes = test::section_bytes(dir, obj, ".text");
  expect_boundaries_match_objdump(dir, obj, ".text", bytes);
}

} // namespace
} // namespace kpg::disasm
