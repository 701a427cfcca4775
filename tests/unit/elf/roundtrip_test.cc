// SPDX-License-Identifier: GPL-2.0-only
// read -> write -> read gives an equal model, for the kinds of objects kpatch-gen meets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "elf/dump.h"
#include "elf/reader.h"
#include "elf/writer.h"
#include "elf_builder.h"
#include "test_support.h"

namespace kpg::elf::test {
namespace {

using ::testing::SizeIs;

// Reads `path`, writes it, reads the result and checks the two models are equal.
void expect_round_trip(const std::string &path) {
  ObjectFile in = must_read(path);
  ObjectFile out = rewrite(in);
  EXPECT_TRUE(in.same_content(out)) << "before:\n" << dump(in) << "after:\n" << dump(out);
}

TEST(elf_roundtrip, CompiledObjectWithManySectionsIsUnchanged) {
  TempDir dir;
  std::string obj = compile_c(dir, "many", kKernelStyleC, "-g");
  ObjectFile in = must_read(obj);
  ASSERT_GT(in.sections.size(), 20u);
  expect_round_trip(obj);
}

TEST(elf_roundtrip, ComdatGroupsKeepSignatureAndMembers) {
  TempDir dir;
  std::string obj = assemble(dir, "comdat", R"(
    .section .text.foo,"axG",@progbits,foo,comdat
    .globl foo
    .type foo,@function
foo:
    call bar
    ret
    .section .data.foo_state,"awG",@progbits,foo,comdat
    .quad foo
    .section .text.bar,"axG",@progbits,bar,comdat
    .globl bar
    .type bar,@function
bar:
    ret
)");
  ObjectFile in = must_read(obj);
  ObjectFile out = rewrite(in);
  ASSERT_TRUE(in.same_content(out)) << "before:\n" << dump(in) << "after:\n" << dump(out);

  int groups = 0;
  for (const Section &s : out.sections) {
    if (s.type != SHT_GROUP)
      continue;
    groups++;
    EXPECT_EQ(s.group_flags, GRP_COMDAT);
    std::string sig = out.symbol_name(*s.group_signature);
    if (sig == "foo") {
      ASSERT_THAT(s.group_members, SizeIs(2));
      EXPECT_EQ(out.sections[s.group_members[0]].name, ".text.foo");
      EXPECT_EQ(out.sections[s.group_members[1]].name, ".data.foo_state");
    } else {
      EXPECT_EQ(sig, "bar");
      ASSERT_THAT(s.group_members, SizeIs(1));
    }
  }
  EXPECT_EQ(groups, 2);
}

TEST(elf_roundtrip, LinkOrderSectionKeepsItsLink) {
  TempDir dir;
  std::string obj = assemble(dir, "linkorder", R"(
    .section .text.foo,"ax",@progbits
    .globl foo
foo:
    nop
    nop
    ret
    .section .text.bar,"ax",@progbits
bar:
    ret
    .section __patchable_function_entries,"awo",@progbits,.text.foo
    .quad foo
    .section __patchable_function_entries,"awo",@progbits,.text.bar
    .quad bar
)");
  ObjectFile in = must_read(obj);
  ObjectFile out = rewrite(in);
  ASSERT_TRUE(in.same_content(out)) << "before:\n" << dump(in) << "after:\n" << dump(out);

  std::vector<std::string> linked;
  for (const Section &s : out.sections)
    if (s.name == "__patchable_function_entries") {
      EXPECT_TRUE(s.flags & SHF_LINK_ORDER);
      ASSERT_TRUE(s.link);
      linked.push_back(out.sections[*s.link].name);
    }
  EXPECT_EQ(linked, (std::vector<std::string>{".text.foo", ".text.bar"}));
}

TEST(elf_roundtrip, GccPatchableFunctionEntriesKeepTheirLinks) {
  TempDir dir;
  std::string obj = compile_c(dir, "pfe", "int f(int x) { return x + 1; }\nint g(int x) { return f(x) * 2; }\n",
                              "-fpatchable-function-entry=4,2");
  ObjectFile in = must_read(obj);
  int with_link = 0;
  for (const Section &s : in.sections)
    if (s.name == "__patchable_function_entries" && s.link)
      with_link++;
  // GCC 12 puts both functions' entries in one section linked to the first function's
  // section; later GCCs emit one per function. Either way the links must survive.
  ASSERT_GE(with_link, 1);
  expect_round_trip(obj);
}

TEST(elf_roundtrip, LivepatchRelocationSectionIsKeptInExtraRelocs) {
  // A .ko-style second relocation section for .text (SHF_RELA_LIVEPATCH) next to .rela.text,
  // against a SHN_LIVEPATCH symbol as klp-convert makes them.
  MiniObject m;
  m.syms.push_back(make_sym(m.strtab.add(".klp.sym.vmlinux.printk,0"), STB_GLOBAL, STT_FUNC, SHN_LIVEPATCH));
  u32 klp_sym = static_cast<u32>(m.syms.size() - 1);
  m.b.add({.name = ".klp.rela.vmlinux..text",
           .type = SHT_RELA,
           .flags = SHF_ALLOC | SHF_INFO_LINK | SHF_RELA_LIVEPATCH,
           .link = MiniObject::kSymtab,
           .info = MiniObject::kText,
           .addralign = 8,
           .entsize = sizeof(Elf64_Rela),
           .data = bytes_of(std::vector<Elf64_Rela>{make_rela(1, klp_sym, R_X86_64_PLT32, -4)})});
  ObjectFile in = must_read("klp.ko", m.build());

  ASSERT_THAT(in.extra_relocs, SizeIs(1));
  const ExtraRelocSection &x = in.extra_relocs[0];
  EXPECT_EQ(x.name, ".klp.rela.vmlinux..text");
  EXPECT_TRUE(x.flags & SHF_RELA_LIVEPATCH);
  EXPECT_EQ(in.sections[x.target].name, ".text");
  ASSERT_THAT(x.relocs, SizeIs(1));
  EXPECT_EQ(in.symbol_name(x.relocs[0].sym), ".klp.sym.vmlinux.printk,0");
  EXPECT_EQ(in.symbols[x.relocs[0].sym].special_shndx, SHN_LIVEPATCH);
  // The ordinary .rela.text is still the section's own relocation list.
  EXPECT_THAT(in.sections[*in.find_section(".text")].relocs, SizeIs(2));

  ObjectFile out = rewrite(in);
  EXPECT_TRUE(in.same_content(out)) << "before:\n" << dump(in) << "after:\n" << dump(out);
}

TEST(elf_roundtrip, LivepatchRelocationSectionsAreKeptInTargetOrder) {
  // klp relocation sections need not follow their targets' order in a .ko; the writer puts
  // each after its target, so the model lists them in that order from the start.
  MiniObject m;
  auto klp = [&](const char *name, u32 target) {
    m.b.add({.name = name,
             .type = SHT_RELA,
             .flags = SHF_ALLOC | SHF_INFO_LINK | SHF_RELA_LIVEPATCH,
             .link = MiniObject::kSymtab,
             .info = target,
             .addralign = 8,
             .entsize = sizeof(Elf64_Rela),
             .data = bytes_of(std::vector<Elf64_Rela>{make_rela(0, MiniObject::kSymExt, R_X86_64_64, 0)})});
  };
  klp(".klp.rela.vmlinux..data", MiniObject::kData);
  klp(".klp.rela.vmlinux..text", MiniObject::kText);
  ObjectFile in = must_read("klp.ko", m.build());
  ASSERT_THAT(in.extra_relocs, SizeIs(2));
  EXPECT_EQ(in.extra_relocs[0].name, ".klp.rela.vmlinux..text");
  EXPECT_EQ(in.extra_relocs[1].name, ".klp.rela.vmlinux..data");
  EXPECT_TRUE(in.same_content(rewrite(in)));
}

TEST(elf_roundtrip, RelRelocationsKeepTheirImplicitAddends) {
  // SHT_REL input (no r_addend): the addend is read from the patched bytes and the bytes are
  // written back unchanged, so the second read sees the same addends.
  MiniObject m;
  m.b.sections[MiniObject::kText].data[1] = 0xfc; // call's rel32 holds -4
  m.b.sections[MiniObject::kText].data[2] = 0xff;
  m.b.sections[MiniObject::kText].data[3] = 0xff;
  m.b.sections[MiniObject::kText].data[4] = 0xff;
  RawSection &rel = m.b.sections[MiniObject::kRelaText];
  rel.name = ".rel.text";
  rel.type = SHT_REL;
  rel.entsize = sizeof(Elf64_Rel);
  m.build(); // encodes the symbol table and string table into their sections
  Elf64_Rel r{1, ELF64_R_INFO(MiniObject::kSymExt, R_X86_64_PC32)};
  rel.data = bytes_of(std::vector<Elf64_Rel>{r});
  ObjectFile in = must_read("rel.o", m.b.build());
  const Section &text = in.sections[*in.find_section(".text")];
  ASSERT_THAT(text.relocs, SizeIs(1));
  EXPECT_EQ(text.reloc_format, RelocFormat::Rel);
  EXPECT_EQ(text.relocs[0].addend, -4);
  ObjectFile out = rewrite(in);
  EXPECT_TRUE(in.same_content(out)) << "before:\n" << dump(in) << "after:\n" << dump(out);
}

TEST(elf_roundtrip, CompressedDebugSectionsAreReadUncompressed) {
  // gcc -gz (CONFIG_DEBUG_INFO_COMPRESSED): relocations of .debug_info apply to the
  // uncompressed bytes, so the model holds those; the same object decompressed by objcopy
  // gives the same model.
  TempDir dir;
  std::string gz = compile_c(dir, "gz", kKernelStyleC, "-g -gz=zlib");
  ASSERT_NE(run_ok("readelf -SW " + gz).find(" C "), std::string::npos) << "gcc did not compress";
  run_ok("objcopy --decompress-debug-sections " + gz + " " + dir.file("plain.o"));

  ObjectFile in = must_read(gz);
  const Section &info = in.sections[*in.find_section(".debug_info")];
  EXPECT_FALSE(info.flags & SHF_COMPRESSED);
  EXPECT_FALSE(info.relocs.empty());
  EXPECT_TRUE(in.same_content(must_read(dir.file("plain.o"))));
  ObjectFile out = rewrite(in);
  EXPECT_TRUE(in.same_content(out)) << "before:\n" << dump(in) << "after:\n" << dump(out);
}

TEST(elf_roundtrip, ReadingCompressedSectionsLeavesTheImageUntouched) {
  // read_object_from_memory() takes a const image: libelf's own decompression would rewrite
  // the section headers inside it.
  TempDir dir;
  std::vector<u8> image = read_bytes(compile_c(dir, "gz", "int g(int x) { return x * 7; }\n", "-g -gz=zlib"));
  std::vector<u8> before = image;
  ObjectFile obj = must_read("gz.o", image);
  EXPECT_FALSE(obj.sections[*obj.find_section(".debug_info")].data.empty());
  EXPECT_TRUE(image == before);
}

// The rest were found by fuzz/fuzz_elf_reader.cc: inputs the reader accepted but that did
// not survive read -> write -> read. Either the reader now rejects them (see
// malformed_test.cc) or it records what the writer will write, as here.

TEST(elf_roundtrip, NullSymbolContentsAreIgnored) {
  MiniObject m;
  m.syms[0] = make_sym(m.strtab.add("junk"), STB_GLOBAL, STT_FUNC, MiniObject::kText, 5, 7);
  ObjectFile in = must_read("null.o", m.build());
  EXPECT_EQ(in.symbols[SymbolId{0}], Symbol{});
  EXPECT_TRUE(in.same_content(rewrite(in)));
}

TEST(elf_roundtrip, EmptyRelocationSectionIsDropped) {
  MiniObject m;
  m.relas.clear();
  m.b.sections[MiniObject::kRelaText].name = ".rela.unusual_name";
  ObjectFile in = must_read("empty-rela.o", m.build());
  const Section &text = in.sections[*in.find_section(".text")];
  EXPECT_TRUE(text.relocs.empty());
  EXPECT_TRUE(text.reloc_name.empty());
  EXPECT_TRUE(in.extra_relocs.empty());
  EXPECT_TRUE(in.same_content(rewrite(in)));
}

TEST(elf_roundtrip, RelocationSectionFlagsAreRecordedAsWritten) {
  // The writer always sets SHF_INFO_LINK (and SHF_GROUP for a grouped target).
  MiniObject m;
  m.b.sections[MiniObject::kRelaText].flags = 0;
  ObjectFile in = must_read("flags.o", m.build());
  EXPECT_EQ(in.sections[*in.find_section(".text")].reloc_flags, static_cast<u64>(SHF_INFO_LINK));
  EXPECT_TRUE(in.same_content(rewrite(in)));
}

} // namespace
} // namespace kpg::elf::test
