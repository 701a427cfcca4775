// SPDX-License-Identifier: GPL-2.0-only
// post_link(): livepatch relocation records -> .klp.rela sections and SHN_LIVEPATCH symbols.
#include <gtest/gtest.h>

#include <cstring>

#include "builder/postlink.h"
#include "diff/klp_format.h"
#include "elf/reader.h"
#include "elf/writer.h"

using namespace kpg;
using namespace kpg::elf;

namespace {

struct Ko {
  ObjectFile obj;
  SectionId text{0}, table{0};
  SymbolId text_sym{0}, klp_sym{0};
};

// A linked module as kbuild leaves it: .text.f with a zeroed field at +3, one record in the
// table pointing there, a weak undefined .klp.sym, and debug info.
Ko make_ko(const std::string &klp_name = ".klp.sym.vmlinux.saved_command_line,0", u8 field_byte = 0) {
  Ko k;
  k.obj.path = "test.ko";
  k.obj.add_symbol(Symbol{});
  Section text;
  text.name = ".text.f";
  text.flags = SHF_ALLOC | SHF_EXECINSTR;
  text.data.assign(16, 0x90);
  std::memset(text.data.data() + 3, field_byte, 4);
  text.size = 16;
  k.text = k.obj.add_section(text);
  Symbol ss;
  ss.type = STT_SECTION;
  ss.section = k.text;
  k.text_sym = k.obj.add_symbol(ss);
  Symbol f;
  f.name = "f";
  f.type = STT_FUNC;
  f.section = k.text;
  f.size = 16;
  k.obj.add_symbol(f);
  Symbol ks;
  ks.name = klp_name;
  ks.bind = STB_WEAK;
  k.klp_sym = k.obj.add_symbol(ks);
  Section t;
  t.name = diff::KLP_RELOCS_SECTION;
  t.addralign = 8;
  t.data.assign(24, 0);
  u32 type = R_X86_64_PC32;
  std::memcpy(t.data.data() + 16, &type, 4);
  t.size = 24;
  t.relocs = {Reloc{0, R_X86_64_64, k.text_sym, 3}, Reloc{8, R_X86_64_64, k.klp_sym, -4}};
  k.table = k.obj.add_section(t);
  Section dbg;
  dbg.name = ".debug_info";
  dbg.data.assign(8, 0);
  dbg.size = 8;
  dbg.relocs = {Reloc{0, R_X86_64_64, k.text_sym, 0}};
  k.obj.add_section(dbg);
  return k;
}

TEST(PostLink, RecordBecomesAKlpRelaEntryAgainstALivepatchSymbol) {
  Ko k = make_ko();
  auto st = build::post_link(k.obj, "{}");
  ASSERT_TRUE(st) << st.error().str();
  EXPECT_EQ(st->klp_relocs, 1u);
  ASSERT_EQ(k.obj.extra_relocs.size(), 1u);
  const ExtraRelocSection &x = k.obj.extra_relocs[0];
  EXPECT_EQ(x.name, ".klp.rela.vmlinux..text.f");
  EXPECT_EQ(x.flags, SHF_ALLOC | SHF_INFO_LINK | SHF_RELA_LIVEPATCH);
  EXPECT_EQ(k.obj.sections[x.target].name, ".text.f");
  ASSERT_EQ(x.relocs.size(), 1u);
  EXPECT_EQ(x.relocs[0].offset, 3u);
  EXPECT_EQ(x.relocs[0].type, static_cast<u32>(R_X86_64_PC32));
  EXPECT_EQ(x.relocs[0].addend, -4);
  const Symbol &s = k.obj.symbols[x.relocs[0].sym];
  EXPECT_EQ(s.name, ".klp.sym.vmlinux.saved_command_line,0");
  EXPECT_EQ(s.special_shndx, SHN_LIVEPATCH);
  EXPECT_EQ(s.bind, STB_GLOBAL);
}

TEST(PostLink, TableAndDebugSectionsAreRemovedAndManifestAdded) {
  Ko k = make_ko();
  ASSERT_TRUE(build::post_link(k.obj, "{\"x\":1}"));
  EXPECT_FALSE(k.obj.find_section(diff::KLP_RELOCS_SECTION));
  EXPECT_FALSE(k.obj.find_section(".debug_info"));
  auto m = k.obj.find_section(build::MANIFEST_SECTION);
  ASSERT_TRUE(m);
  EXPECT_EQ(std::string(k.obj.sections[*m].data.begin(), k.obj.sections[*m].data.end()), "{\"x\":1}");
  EXPECT_FALSE(k.obj.sections[*m].is_alloc()); // not loaded into the kernel
}

TEST(PostLink, ResultWritesAndReadsBackWithTheLivepatchSection) {
  Ko k = make_ko();
  ASSERT_TRUE(build::post_link(k.obj, "{}"));
  auto bytes = write_object_to_memory(k.obj);
  ASSERT_TRUE(bytes) << bytes.error().str();
  auto back = read_object_from_memory("back.ko", *bytes);
  ASSERT_TRUE(back) << back.error().str();
  ASSERT_EQ(back->extra_relocs.size(), 1u);
  EXPECT_EQ(back->extra_relocs[0].name, ".klp.rela.vmlinux..text.f");
  EXPECT_EQ(back->symbols[back->extra_relocs[0].relocs[0].sym].special_shndx, SHN_LIVEPATCH);
}

TEST(PostLink, ModuleSymbolGoesToTheModulesSection) {
  Ko k = make_ko(".klp.sym.binfmt_misc.entries,0");
  ASSERT_TRUE(build::post_link(k.obj, "{}"));
  ASSERT_EQ(k.obj.extra_relocs.size(), 1u);
  EXPECT_EQ(k.obj.extra_relocs[0].name, ".klp.rela.binfmt_misc..text.f");
}

TEST(PostLink, NonZeroTargetIsRefused) {
  Ko k = make_ko(".klp.sym.vmlinux.x,0", 0xff);
  auto st = build::post_link(k.obj, "{}");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("not zero"), std::string::npos);
}

TEST(PostLink, RecordAgainstAnOrdinarySymbolIsRefused) {
  Ko k = make_ko("printk");
  auto st = build::post_link(k.obj, "{}");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("printk"), std::string::npos);
}

TEST(PostLink, ModuleWithoutRecordsOnlyGetsItsManifest) {
  Ko k = make_ko();
  k.obj.sections[k.table].relocs.clear();
  k.obj.sections[k.table].name = ".data.other";
  ASSERT_TRUE(build::post_link(k.obj, "{}"));
  EXPECT_TRUE(k.obj.extra_relocs.empty());
  EXPECT_TRUE(k.obj.find_section(build::MANIFEST_SECTION));
}

} // namespace

// --objtool-at-link: the record's site also carries its shadow for objtool (klp_format.h).
TEST(PostLink, ShadowOfARecordIsRemoved) {
  Ko k = make_ko();
  k.obj.sections[k.text].relocs.push_back(Reloc{3, R_X86_64_PC32, k.klp_sym, -4});
  auto st = build::post_link(k.obj, "{}");
  ASSERT_TRUE(st) << st.error().str();
  EXPECT_EQ(st->shadows_removed, 1u);
  EXPECT_TRUE(k.obj.sections[k.text].relocs.empty());
  ASSERT_EQ(k.obj.extra_relocs.size(), 1u);
  EXPECT_EQ(k.obj.extra_relocs[0].relocs.size(), 1u);
}

TEST(PostLink, OtherRelocationAtARecordsSiteIsRefused) {
  Ko k = make_ko();
  k.obj.sections[k.text].relocs.push_back(Reloc{3, R_X86_64_PC32, k.klp_sym, 0}); // another addend
  auto st = build::post_link(k.obj, "{}");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("normal relocation already applies"), std::string::npos);
}

// objtool's .call_sites: the entry of the call whose field the record patches (e8 at +2, field
// at +3) goes; the entry of another call (+9) stays, moved to the front.
TEST(PostLink, CallSiteOfACallThroughALivepatchRelocationIsDropped) {
  Ko k = make_ko();
  k.obj.sections[k.text].data[2] = 0xe8;
  Section cs;
  cs.name = ".call_sites";
  cs.flags = SHF_ALLOC;
  cs.data.assign(8, 0);
  cs.size = 8;
  cs.relocs = {Reloc{0, R_X86_64_PC32, k.text_sym, 2}, Reloc{4, R_X86_64_PC32, k.text_sym, 9}};
  k.obj.add_section(cs);
  auto st = build::post_link(k.obj, "{}");
  ASSERT_TRUE(st) << st.error().str();
  EXPECT_EQ(st->call_sites_removed, 1u);
  auto c = k.obj.find_section(".call_sites"); // ids move when post_link removes sections
  ASSERT_TRUE(c);
  const Section &after = k.obj.sections[*c];
  EXPECT_EQ(after.size, 4u);
  ASSERT_EQ(after.relocs.size(), 1u);
  EXPECT_EQ(after.relocs[0].offset, 0u);
  EXPECT_EQ(after.relocs[0].addend, 9);
}
