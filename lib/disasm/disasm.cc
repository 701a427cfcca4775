// SPDX-License-Identifier: GPL-2.0-only
//
// x86-64 decoding on LLVM 16 MC. LLVM headers stay in this file (pimpl), so nothing else in
// the project needs LLVM's include paths or its -fno-exceptions view of the world.
//
// What LLVM gives us and what we add:
//  - MCDisassembler decodes; MCInstrDesc (via MCInstrInfo) says what an opcode is (call,
//    branch, return) and what each MCInst operand is (register, immediate, memory part,
//    PC-relative target); MCInstrAnalysis::evaluateBranch computes relative branch targets;
//    MCInstPrinter prints AT&T text.
//  - We merge LLVM's stand-alone LOCK_PREFIX "instruction" into the instruction it locks,
//    classify nops and traps by opcode name once per opcode, and find the width of a branch
//    displacement from the bytes (LLVM's encoding flags are not in its public headers).
#include "disasm/disasm.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <mutex>

#include <fmt/format.h>

#include <llvm/ADT/ArrayRef.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/ADT/Triple.h>
#include <llvm/MC/MCAsmInfo.h>
#include <llvm/MC/MCContext.h>
#include <llvm/MC/MCDisassembler/MCDisassembler.h>
#include <llvm/MC/MCInst.h>
#include <llvm/MC/MCInstPrinter.h>
#include <llvm/MC/MCInstrAnalysis.h>
#include <llvm/MC/MCInstrDesc.h>
#include <llvm/MC/MCInstrInfo.h>
#include <llvm/MC/MCRegisterInfo.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/MCTargetOptions.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

namespace kpg::disasm {

namespace {

constexpr const char *kTriple = "x86_64-unknown-linux-gnu";

// The architectural limit on the length of one x86 instruction.
constexpr u32 kMaxInsnLen = 15;

// Only the X86 pieces: initialising every target would cost startup time and pull in
// targets whose registration we do not need. LLVM's registry is global, hence once.
void initialize_x86_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86Disassembler();
  });
}

// Kind of an opcode, decided once per opcode when the decoder is created (there are ~20k X86
// opcodes; a table lookup per instruction is cheaper than string compares).
InsnKind classify_opcode(llvm::StringRef name, const llvm::MCInstrDesc &desc) {
  // NOOP (90, also `66 90` "xchg %ax,%ax"), NOOPL/NOOPW/NOOPQ (the 0f 1f /0 forms with a
  // memory operand: `nopl 0x0(%rax,%rax,1)` is the fentry nop, `66 2e 0f 1f 84 00..` is gcc's
  // cs-prefixed padding) and NOOPLr/NOOPWr/NOOPQr (0f 1f with a register operand).
  if (name.startswith("NOOP"))
    return InsnKind::Nop;
  // TRAP is LLVM's name for ud2 (the kernel's BUG()); INT3 pads between functions and after
  // `jmp __x86_return_thunk`; UD1* (0f b9) is the UBSAN/WARN trap of newer kernels.
  if (name == "TRAP" || name == "INT3" || name.startswith("UD"))
    return InsnKind::Trap;
  if (desc.isReturn())
    return InsnKind::Return;
  if (desc.isCall())
    return InsnKind::Call;
  if (desc.isBranch()) {
    // LLVM defines a conditional branch as a branch that is not a barrier: jcc, jrcxz,
    // loop/loope/loopne (and xbegin, which falls through on abort). `jmp *%rax` is an
    // indirect barrier branch, hence an unconditional Jump.
    return desc.isConditionalBranch() ? InsnKind::CondJump : InsnKind::Jump;
  }
  return InsnKind::Other;
}

i64 read_signed_le(const u8 *p, u32 n) {
  u64 v = 0;
  for (u32 i = 0; i < n; ++i)
    v |= static_cast<u64>(p[i]) << (8 * i);
  const u32 bits = 8 * n;
  if (bits < 64 && (v >> (bits - 1)) != 0)
    v |= ~u64{0} << bits; // sign-extend
  return static_cast<i64>(v);
}

// Width of the PC-relative displacement of a relative branch, which x86 always encodes last
// (a branch has no immediate after it): the widest N in {4, 2, 1} whose trailing N bytes read
// as the sign-extended displacement LLVM decoded. Deciding by bytes rather than by opcode
// name keeps prefixed forms right without a table: `2e e8 rel32` (the cs-prefixed call that
// -mindirect-branch-cs-prefix emits for retpoline thunks) is 6 bytes with a 4-byte field, and
// `3e 74 05` (ds-prefixed je) is 3 bytes with a 1-byte field. Widest first is unambiguous:
// for rel8 the byte before the field is an opcode (70..7f, e0..e3, eb), never the 00/ff a
// wider sign extension would need. Returns 0 if nothing matches (not seen with LLVM 16).
u8 branch_disp_width(std::span<const u8> insn_bytes, i64 disp) {
  for (u32 n : {4u, 2u, 1u}) {
    if (insn_bytes.size() < n + 1)
      continue;
    if (read_signed_le(insn_bytes.data() + insn_bytes.size() - n, n) == disp)
      return static_cast<u8>(n);
  }
  return 0;
}

// Printer output is "\tmnemonic\toperands", with prefixes as "rep\t\tstosq"; callers want
// one line with single spaces ("rep stosq %rax, %es:(%rdi)"). Operand text itself only
// contains single spaces after commas, so collapsing whitespace runs is lossless.
std::string normalize_space(const std::string &s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space)
      out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

} // namespace

struct Decoder::Impl {
  // Declaration order matters for destruction: the context refers to the register, asm and
  // subtarget info, the disassembler to the context.
  std::unique_ptr<llvm::MCRegisterInfo> mri;
  std::unique_ptr<llvm::MCAsmInfo> mai;
  std::unique_ptr<llvm::MCSubtargetInfo> sti;
  std::unique_ptr<llvm::MCInstrInfo> mii;
  std::unique_ptr<llvm::MCContext> ctx;
  std::unique_ptr<llvm::MCDisassembler> dis;
  std::unique_ptr<llvm::MCInstrAnalysis> mia;
  std::unique_ptr<llvm::MCInstPrinter> printer;

  // Per-opcode facts, indexed by opcode, computed once (a lookup per instruction is cheaper
  // than string compares or a virtual evaluateBranch call on every mov).
  struct OpcodeInfo {
    InsnKind kind = InsnKind::Other;
    bool pcrel_first = false; // operand 0 is OPERAND_PCREL: a relative branch
  };
  std::vector<OpcodeInfo> info;
  unsigned lock_prefix_opcode = std::numeric_limits<unsigned>::max();
  unsigned reg_rip = 0;                                // 0 is llvm's NoRegister
  unsigned reg_eip = 0;

  // One decoded instruction: `size` bytes from the start offset, of which the first `nlock`
  // are lock prefixes that LLVM reported as separate LOCK_PREFIX instructions.
  struct Step {
    bool ok = false;
    u32 size = 0;
    u32 nlock = 0;
  };

  Step decode_at(std::span<const u8> bytes, u32 offset, llvm::MCInst &inst) const;
  Insn make_insn(std::span<const u8> bytes, u32 offset, const Step &step, const llvm::MCInst &inst) const;
  bool is_immediate_operand(const llvm::MCInstrDesc &desc, unsigned i, const llvm::MCOperand &op) const;
};

Decoder::Decoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Decoder::Decoder(Decoder &&) noexcept = default;
Decoder &Decoder::operator=(Decoder &&) noexcept = default;
Decoder::~Decoder() = default;

Expected<Decoder> Decoder::create_x86_64() {
  initialize_x86_once();
  auto fail = [](std::string what) { return make_error(Location{}, "x86-64 disassembler: " + std::move(what)); };

  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(kTriple, err);
  if (!target)
    return fail("LLVM has no X86 target: " + err);

  auto impl = std::make_unique<Impl>();
  impl->mri.reset(target->createMCRegInfo(kTriple));
  if (!impl->mri)
    return fail("no MCRegisterInfo");
  llvm::MCTargetOptions options;
  impl->mai.reset(target->createMCAsmInfo(*impl->mri, kTriple, options));
  if (!impl->mai)
    return fail("no MCAsmInfo");
  impl->sti.reset(target->createMCSubtargetInfo(kTriple, "", ""));
  if (!impl->sti)
    return fail("no MCSubtargetInfo");
  impl->mii.reset(target->createMCInstrInfo());
  if (!impl->mii)
    return fail("no MCInstrInfo");
  impl->ctx = std::make_unique<llvm::MCContext>(llvm::Triple(kTriple), impl->mai.get(), impl->mri.get(),
                                                impl->sti.get());
  impl->dis.reset(target->createMCDisassembler(*impl->sti, *impl->ctx));
  if (!impl->dis)
    return fail("no MCDisassembler");
  impl->mia.reset(target->createMCInstrAnalysis(impl->mii.get()));
  if (!impl->mia)
    return fail("no MCInstrAnalysis");
  // Syntax variant 0 is AT&T, the syntax of objdump and of the kernel's own sources.
  impl->printer.reset(target->createMCInstPrinter(llvm::Triple(kTriple), 0, *impl->mai, *impl->mii, *impl->mri));
  if (!impl->printer)
    return fail("no MCInstPrinter");
  impl->printer->setPrintImmHex(true);
  // Prints Address + displacement for PC-relative operands; format() passes the end of the
  // instruction as Address so that the text shows the target as a buffer offset.
  impl->printer->setPrintBranchImmAsAddress(true);

  const unsigned nopcodes = impl->mii->getNumOpcodes();
  impl->info.resize(nopcodes);
  for (unsigned op = 0; op < nopcodes; ++op) {
    llvm::StringRef name = impl->mii->getName(op);
    const llvm::MCInstrDesc &desc = impl->mii->get(op);
    impl->info[op].kind = classify_opcode(name, desc);
    impl->info[op].pcrel_first =
        desc.getNumOperands() > 0 && desc.operands()[0].OperandType == llvm::MCOI::OPERAND_PCREL;
    if (name == "LOCK_PREFIX")
      impl->lock_prefix_opcode = op;
  }
  for (unsigned r = 1; r < impl->mri->getNumRegs(); ++r) {
    llvm::StringRef name = impl->mri->getName(r);
    if (name == "RIP")
      impl->reg_rip = r;
    else if (name == "EIP")
      impl->reg_eip = r;
  }
  if (impl->reg_rip == 0)
    return fail("LLVM X86 register info has no RIP");
  return Decoder(std::move(impl));
}

Decoder::Impl::Step Decoder::Impl::decode_at(std::span<const u8> bytes, u32 offset, llvm::MCInst &inst) const {
  u32 pos = offset;
  u32 nlock = 0;
  while (pos < bytes.size()) {
    inst.clear();
    inst.setOpcode(0);
    inst.setFlags(0);
    u64 size = 0;
    // The ArrayRef bounds what LLVM may read: a truncated instruction at the end of the buffer
    // fails instead of reading on.
    const llvm::ArrayRef<u8> region(bytes.data() + pos, bytes.size() - pos);
    const auto status = dis->getInstruction(inst, size, region, pos, llvm::nulls());
    if (status != llvm::MCDisassembler::Success || size == 0 || size > region.size())
      break;
    // LLVM 16 decodes an f0 that *starts* an instruction as a one-byte LOCK_PREFIX
    // instruction (`f0 ff 00` -> "lock" + "incl (%rax)"), while `66 f0 0f b1 17` decodes as
    // one locked cmpxchgw. The kernel always writes the lock first (LOCK_PREFIX in
    // asm/alternative.h, with a .smp_locks entry pointing at it), so merge it with what
    // follows; the bound keeps a run of f0 bytes from turning into one huge "instruction".
    if (inst.getOpcode() == lock_prefix_opcode && nlock + 1 < kMaxInsnLen) {
      ++nlock;
      pos += static_cast<u32>(size);
      continue;
    }
    return Step{true, pos + static_cast<u32>(size) - offset, nlock};
  }
  if (nlock > 0) {
    // A lock prefix followed by nothing decodable (end of buffer, garbage): report the first
    // f0 alone, as LLVM would, and let decoding resume at the next byte.
    inst.clear();
    inst.setOpcode(lock_prefix_opcode);
    inst.setFlags(0);
    return Step{true, 1, 0};
  }
  return Step{};
}

bool Decoder::Impl::is_immediate_operand(const llvm::MCInstrDesc &desc, unsigned i, const llvm::MCOperand &op) const {
  // Only operands that the instruction description declares OPERAND_IMMEDIATE. The others
  // that are isImm() in an X86 MCInst are not immediates of the instruction:
  //  - memory operand parts: a memory operand is 5 MCInst operands (base, scale, index,
  //    displacement, segment) typed OPERAND_MEMORY (`movl $5, 0x10(%rax)`: scale 1 and
  //    displacement 0x10 are isImm, only the 5 is an immediate). LEA's operands are typed
  //    OPERAND_UNKNOWN in LLVM 16 (lea64mem sets no type), so "not IMMEDIATE" is the test,
  //    not "is MEMORY";
  //  - OPERAND_PCREL: the branch displacement (`jmp 1f`), reported as branch_target;
  //  - X86 target types: the condition code of jcc/setcc/cmovcc (je and jne are both JCC_1
  //    with cond 4 and 5) and AVX-512 rounding control, both encoded outside the imm field.
  return op.isImm() && i < desc.getNumOperands() && desc.operands()[i].OperandType == llvm::MCOI::OPERAND_IMMEDIATE;
}

Insn Decoder::Impl::make_insn(std::span<const u8> bytes, u32 offset, const Step &step,
                              const llvm::MCInst &inst) const {
  Insn insn;
  insn.offset = offset;
  insn.size = static_cast<u8>(step.size);
  insn.opcode = inst.getOpcode();
  const OpcodeInfo facts = insn.opcode < info.size() ? info[insn.opcode] : OpcodeInfo{};
  insn.kind = facts.kind;
  insn.lock_prefix = step.nlock > 0;

  const llvm::MCInstrDesc &desc = mii->get(insn.opcode);
  // evaluateBranch answers only for instructions whose first operand is OPERAND_PCREL (call
  // rel32, jmp/jcc rel8/rel32, jrcxz, loop); indirect calls and jumps have a register or
  // memory operand there and get no target. Address and size are those of the instruction
  // LLVM decoded, after any merged lock prefix, so the target is still end + displacement.
  u64 target = 0;
  if (facts.pcrel_first && inst.getOperand(0).isImm() &&
      mia->evaluateBranch(inst, offset + step.nlock, step.size - step.nlock, target)) {
    const i64 disp = inst.getOperand(0).getImm();
    const u8 width = branch_disp_width(bytes.subspan(offset, step.size), disp);
    if (width != 0) {
      insn.branch_target = static_cast<i64>(target); // wraps to negative before the buffer
      insn.branch_disp_size = width;
    }
  }

  for (unsigned i = 0, n = inst.getNumOperands(); i < n; ++i) {
    const llvm::MCOperand &op = inst.getOperand(i);
    if (is_immediate_operand(desc, i, op)) {
      // No x86 instruction has more than two (enter $16, $1; extrq/insertq).
      if (insn.nimm < 2)
        insn.imm[insn.nimm++] = op.getImm();
    } else if (op.isReg() && op.getReg() != 0 && (op.getReg() == reg_rip || op.getReg() == reg_eip)) {
      // RIP (or EIP with an addr32 prefix) can only be the base of a memory operand, so no
      // need to locate the memory operand group first.
      insn.rip_relative = true;
    }
  }
  return insn;
}

std::vector<Insn> Decoder::decode(std::span<const u8> bytes) const {
  // Offsets are u32: a single section never comes near 4 GiB; clamp rather than wrap.
  if (bytes.size() > std::numeric_limits<u32>::max())
    bytes = bytes.first(std::numeric_limits<u32>::max());
  std::vector<Insn> out;
  // Kernel code averages a little over 4 bytes per instruction; one allocation covers most
  // functions and a single regrowth the rest.
  out.reserve(bytes.size() / 4 + 8);
  llvm::MCInst inst; // reused: its operand storage is inline, so decoding does not allocate
  u32 offset = 0;
  const u32 end = static_cast<u32>(bytes.size());
  while (offset < end) {
    const Impl::Step step = impl_->decode_at(bytes, offset, inst);
    if (!step.ok) {
      Insn bad;
      bad.offset = offset;
      bad.size = 1;
      bad.kind = InsnKind::Invalid;
      out.push_back(bad);
      ++offset;
      continue;
    }
    out.push_back(impl_->make_insn(bytes, offset, step, inst));
    offset += step.size;
  }
  return out;
}

Insn Decoder::decode_one(std::span<const u8> bytes, u32 offset) const {
  Insn bad;
  bad.offset = offset;
  bad.kind = InsnKind::Invalid;
  if (offset >= bytes.size())
    return bad; // size 0: nothing to decode here
  llvm::MCInst inst;
  const Impl::Step step = impl_->decode_at(bytes, offset, inst);
  if (!step.ok) {
    bad.size = 1;
    return bad;
  }
  return impl_->make_insn(bytes, offset, step, inst);
}

std::string Decoder::format(std::span<const u8> bytes, const Insn &insn) const {
  if (insn.offset >= bytes.size() || insn.size == 0 || insn.size > bytes.size() - insn.offset)
    return "(bad)";
  if (insn.kind == InsnKind::Invalid)
    return fmt::format(".byte 0x{:02x}", bytes[insn.offset]);
  llvm::MCInst inst;
  const Impl::Step step = impl_->decode_at(bytes, insn.offset, inst);
  if (!step.ok || step.size != insn.size)
    return "(bad)"; // `insn` does not describe these bytes
  std::string text;
  llvm::raw_string_ostream os(text);
  if (step.nlock > 0)
    os << "lock ";
  // Address = end of the instruction: the printer adds the displacement to it.
  impl_->printer->printInst(&inst, insn.end(), "", *impl_->sti, os);
  os.flush();
  return normalize_space(text);
}

std::string Decoder::opcode_name(u32 opcode) const {
  if (opcode >= impl_->mii->getNumOpcodes())
    return {};
  return impl_->mii->getName(opcode).str();
}

bool Decoder::same_except_immediates(std::span<const u8> bytes_a, const Insn &a, std::span<const u8> bytes_b,
                                     const Insn &b, std::vector<std::pair<i64, i64>> *diffs) const {
  auto in_bounds = [](std::span<const u8> bytes, const Insn &insn) {
    return insn.size != 0 && insn.offset < bytes.size() && insn.size <= bytes.size() - insn.offset;
  };
  if (!in_bounds(bytes_a, a) || !in_bounds(bytes_b, b))
    return false;
  if (a.kind != b.kind || a.size != b.size || a.opcode != b.opcode || a.lock_prefix != b.lock_prefix)
    return false;
  if (a.kind == InsnKind::Invalid)
    return bytes_a[a.offset] == bytes_b[b.offset];

  llvm::MCInst ia;
  llvm::MCInst ib;
  const Impl::Step sa = impl_->decode_at(bytes_a, a.offset, ia);
  const Impl::Step sb = impl_->decode_at(bytes_b, b.offset, ib);
  if (!sa.ok || !sb.ok || sa.size != a.size || sb.size != b.size || sa.nlock != sb.nlock)
    return false;
  // Flags carry the prefixes that are not operands: rep/repne, a non-leading lock, 66/67.
  if (ia.getOpcode() != ib.getOpcode() || ia.getFlags() != ib.getFlags() ||
      ia.getNumOperands() != ib.getNumOperands())
    return false;

  const llvm::MCInstrDesc &desc = impl_->mii->get(ia.getOpcode());
  std::pair<i64, i64> found[4];
  unsigned nfound = 0;
  for (unsigned i = 0, n = ia.getNumOperands(); i < n; ++i) {
    const llvm::MCOperand &oa = ia.getOperand(i);
    const llvm::MCOperand &ob = ib.getOperand(i);
    if (impl_->is_immediate_operand(desc, i, oa) && ob.isImm()) {
      if (oa.getImm() != ob.getImm()) {
        if (nfound == std::size(found))
          return false; // unreachable: x86 instructions have at most two immediates
        found[nfound++] = {oa.getImm(), ob.getImm()};
      }
      continue;
    }
    if (oa.isReg() && ob.isReg()) {
      if (oa.getReg() != ob.getReg())
        return false;
    } else if (oa.isImm() && ob.isImm()) {
      if (oa.getImm() != ob.getImm())
        return false;
    } else if (oa.isSFPImm() && ob.isSFPImm()) {
      if (oa.getSFPImm() != ob.getSFPImm())
        return false;
    } else if (oa.isDFPImm() && ob.isDFPImm()) {
      if (oa.getDFPImm() != ob.getDFPImm())
        return false;
    } else {
      // Different operand kinds, or expressions (the disassembler makes none without a
      // symbolizer): not provably the same.
      return false;
    }
  }
  if (diffs)
    diffs->insert(diffs->end(), found, found + nfound);
  return true;
}

bool is_fentry_nop(std::span<const u8> bytes, u32 offset) {
  static constexpr u8 kNop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
  return offset <= bytes.size() && bytes.size() - offset >= sizeof kNop5 &&
         std::memcmp(bytes.data() + offset, kNop5, sizeof kNop5) == 0;
}

bool is_endbr64(std::span<const u8> bytes, u32 offset) {
  static constexpr u8 kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
  return offset <= bytes.size() && bytes.size() - offset >= sizeof kEndbr64 &&
         std::memcmp(bytes.data() + offset, kEndbr64, sizeof kEndbr64) == 0;
}

} // namespace kpg::disasm
