// SPDX-License-Identifier: GPL-2.0-only
// The special-section table per kernel line (special_sections.h), and how the line is chosen.
#include <gtest/gtest.h>

#include "diff/special_sections.h"

namespace kpg::diff {
namespace {

const SpecialSection *row(KernelLine l, std::string_view name) {
  return find_special_section(special_sections(l), name);
}

TEST(DiffKernelLine, ReleaseNamesItsSeries) {
  EXPECT_EQ(kernel_line_of("6.12.118+deb12-cloud-amd64"), KernelLine::V6_12);
  EXPECT_EQ(kernel_line_of("6.1.0-57-cloud-amd64"), KernelLine::V6_1);
  EXPECT_EQ(kernel_line_of("6.1.192"), KernelLine::V6_1);
  EXPECT_EQ(kernel_line_of("6.12"), KernelLine::V6_12);
  EXPECT_EQ(kernel_line_of("6.1"), KernelLine::V6_1);
  // Another series is no line kpatch-gen knows, even when it starts like one.
  EXPECT_EQ(kernel_line_of("6.10.3"), std::nullopt);
  EXPECT_EQ(kernel_line_of("6.123"), std::nullopt);
  EXPECT_EQ(kernel_line_of("5.10.0-30-amd64"), std::nullopt);
  EXPECT_EQ(kernel_line_of(""), std::nullopt);
}

TEST(DiffSpecialTable, AltInstrIs12BytesIn61And14In612) {
  const SpecialSection *a = row(KernelLine::V6_1, ".altinstructions"), *b = row(KernelLine::V6_12, ".altinstructions");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->default_entry_size, 12u);
  EXPECT_EQ(a->repl_len_offset, 11u);
  EXPECT_EQ(b->default_entry_size, 14u);
  EXPECT_EQ(b->repl_len_offset, 13u);
}

TEST(DiffSpecialTable, ExportsAreKsymtabIn61AndExportSymbolIn612) {
  const SpecialSection *k = row(KernelLine::V6_1, "___ksymtab_gpl+free_task");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->policy, SpecialPolicy::Drop);
  EXPECT_EQ(row(KernelLine::V6_1, ".export_symbol"), nullptr);
  const SpecialSection *e = row(KernelLine::V6_12, ".export_symbol");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->policy, SpecialPolicy::Drop);
  EXPECT_EQ(e->entry_label, "__export_symbol_");
  EXPECT_EQ(e->default_entry_size, 0u);
  EXPECT_EQ(row(KernelLine::V6_12, "___ksymtab+free_task"), nullptr);
}

TEST(DiffSpecialTable, ParainstructionsOnlyIn61CallSitesOnlyIn612) {
  EXPECT_NE(row(KernelLine::V6_1, ".parainstructions"), nullptr);
  EXPECT_EQ(row(KernelLine::V6_12, ".parainstructions"), nullptr);
  EXPECT_EQ(row(KernelLine::V6_1, ".call_sites"), nullptr);
  const SpecialSection *c = row(KernelLine::V6_12, ".call_sites");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->policy, SpecialPolicy::KeepDerived);
  EXPECT_EQ(c->default_entry_size, 4u);
}

TEST(DiffSpecialTable, SharedRowsAgreeBetweenLines) {
  // What did not change between 6.1 and 6.12 on x86-64 reads the same.
  for (const char *name : {"__bug_table", "__ex_table", "__jump_table", ".static_call_sites", "__mcount_loc",
                           ".orc_unwind_ip", ".return_sites", ".retpoline_sites", "__dyndbg", ".BTF_ids"}) {
    const SpecialSection *a = row(KernelLine::V6_1, name), *b = row(KernelLine::V6_12, name);
    ASSERT_TRUE(a && b) << name;
    EXPECT_EQ(a->default_entry_size, b->default_entry_size) << name;
    EXPECT_EQ(a->policy, b->policy) << name;
    EXPECT_EQ(a->owner_offset, b->owner_offset) << name;
  }
}

TEST(DiffSpecialTable, BuiltinSizesComeFromTheLineAndDwarfOverridesThem) {
  auto s61 = resolve_entry_sizes(special_sections(KernelLine::V6_1), {}, {});
  auto s612 = resolve_entry_sizes(special_sections(KernelLine::V6_12), {}, {});
  EXPECT_EQ(s61.at(".altinstructions").size, 12u);
  EXPECT_EQ(s612.at(".altinstructions").size, 14u);
  EXPECT_EQ(s612.at(".altinstructions").source, SizeSource::Builtin);
  auto dw = resolve_entry_sizes(special_sections(KernelLine::V6_12), {{"alt_instr", 16}}, {});
  EXPECT_EQ(dw.at(".altinstructions").size, 16u);
  EXPECT_EQ(dw.at(".altinstructions").source, SizeSource::Dwarf);
  EXPECT_FALSE(s612.count("___ksymtab+*"));
  EXPECT_FALSE(s61.count(".export_symbol"));
}

TEST(DiffSpecialTable, StructListCoversEveryLine) {
  auto structs = special_section_structs();
  EXPECT_NE(std::ranges::find(structs, "paravirt_patch_site"), structs.end()); // 6.1 only
  EXPECT_NE(std::ranges::find(structs, "alt_instr"), structs.end());
  EXPECT_EQ(std::ranges::count(structs, "alt_instr"), 1); // named by both lines, listed once
}

TEST(DiffKernelLine, SectionsOnlyOneLineHasShowTheLine) {
  EXPECT_EQ(line_of_section("___ksymtab+free_task"), KernelLine::V6_1);
  EXPECT_EQ(line_of_section("___ksymtab_gpl+free_task"), KernelLine::V6_1);
  EXPECT_EQ(line_of_section(".data.once"), KernelLine::V6_1);
  EXPECT_EQ(line_of_section(".export_symbol"), KernelLine::V6_12);
  EXPECT_EQ(line_of_section(".data..once"), KernelLine::V6_12);
  EXPECT_EQ(line_of_section("__patchable_function_entries"), KernelLine::V6_12);
  EXPECT_EQ(line_of_section(".altinstructions"), std::nullopt);
  EXPECT_EQ(line_of_section(".text.free_task"), std::nullopt);
}

TEST(DiffKernelLine, AgreeingEvidenceChoosesItsLine) {
  auto c = choose_kernel_line({{KernelLine::V6_12, "vmlinux: release 6.12.118"}, {KernelLine::V6_12, "a.o: section .export_symbol"}});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->line, KernelLine::V6_12);
  EXPECT_EQ(c->why, "6.12: vmlinux: release 6.12.118");
}

TEST(DiffKernelLine, DisagreeingEvidenceIsAnErrorNamingBoth) {
  auto c = choose_kernel_line({{KernelLine::V6_1, "--kernel-line"}, {KernelLine::V6_12, "a.o: section .export_symbol"}});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("--kernel-line says kernel 6.1, but a.o: section .export_symbol says 6.12"),
            std::string::npos)
      << c.error().message;
}

TEST(DiffKernelLine, NoEvidenceIs61AndSaysSo) {
  auto c = choose_kernel_line({});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->line, KernelLine::V6_1);
  EXPECT_NE(c->why.find("--kernel-line"), std::string::npos);
}

} // namespace
} // namespace kpg::diff
