// SPDX-License-Identifier: GPL-2.0-only
// select_special_entries(): a special-section entry goes with its function, and only then.
#include <gtest/gtest.h>

#include "model_builder.h"

namespace kpg::diff::test {
namespace {

const SpecialSelection *selection(DiffRun &r, const char *name) {
  for (const SpecialSelection &s : r->special)
    if (s.spec && s.spec->name == name)
      return &s;
  return nullptr;
}

// Two functions with a WARN() each (ud2 + bug_entry); foo calls CALLEE, bar never changes.
elf::ObjectFile two_warns(const char *path, const char *callee) {
  ModelBuilder b(path);
  elf::SymbolId bar = b.function("bar", cat({ud2(), ret()}), STB_GLOBAL);
  b.bug_entry(bar, 5, 40);
  elf::SymbolId foo = b.function("foo", cat({call(), ud2(), ret()}), STB_GLOBAL);
  b.call_at(foo, 5, b.undefined(callee));
  b.bug_entry(foo, 10, 50);
  return b.take();
}

TEST(DiffSpecialSelect, BugTableEntryIsCarriedOnlyWithItsFunction) {
  DiffRun r(two_warns("orig.o", "a"), two_warns("patched.o", "b"));
  r.through_plan();
  const SpecialSelection *sel = selection(r, "__bug_table");
  ASSERT_NE(sel, nullptr);
  EXPECT_EQ(sel->total, 2u);
  ASSERT_EQ(sel->kept.size(), 1u);
  EXPECT_EQ(sel->kept[0].owner, r.patched_sym("foo"));
  EXPECT_EQ(sel->kept[0].offset, 12u); // foo's entry is the second one
}

TEST(DiffSpecialSelect, BugTableEntriesOfUnchangedFunctionsAreNotCarried) {
  // foo changes only without touching the table: nothing of __bug_table follows bar.
  ModelBuilder o("orig.o"), p("patched.o");
  for (ModelBuilder *b : {&o, &p}) {
    elf::SymbolId bar = b->function("bar", cat({ud2(), ret()}), STB_GLOBAL);
    b->bug_entry(bar, 5, 40);
    elf::SymbolId foo = b->function("foo", cat({call(), ret()}), STB_GLOBAL);
    b->call_at(foo, 5, b->undefined(b == &o ? "a" : "b"));
  }
  DiffRun r(o.take(), p.take());
  r.through_plan();
  const SpecialSelection *sel = selection(r, "__bug_table");
  ASSERT_NE(sel, nullptr);
  EXPECT_TRUE(sel->kept.empty());
}

// Two functions with a static branch each (nop5 + jump_entry keyed by `key`).
elf::ObjectFile two_static_branches(const char *path, const char *callee) {
  ModelBuilder b(path);
  elf::SymbolId key = b.undefined("sched_smt_present");
  elf::SymbolId bar = b.function("bar", cat({nop5(), ret()}), STB_GLOBAL);
  b.jump_entry(bar, 5, 10, key);
  elf::SymbolId foo = b.function("foo", cat({nop5(), call(), ret()}), STB_GLOBAL);
  b.call_at(foo, 10, b.undefined(callee));
  b.jump_entry(foo, 5, 15, key);
  return b.take();
}

TEST(DiffSpecialSelect, JumpTableEntryIsCarriedOnlyWithItsFunction) {
  DiffRun r(two_static_branches("orig.o", "a"), two_static_branches("patched.o", "b"));
  r.through_plan();
  const SpecialSelection *sel = selection(r, "__jump_table");
  ASSERT_NE(sel, nullptr);
  EXPECT_EQ(sel->total, 2u);
  ASSERT_EQ(sel->kept.size(), 1u);
  EXPECT_EQ(sel->kept[0].owner, r.patched_sym("foo"));
  EXPECT_EQ(sel->kept[0].offset, 16u);
}

} // namespace
} // namespace kpg::diff::test
