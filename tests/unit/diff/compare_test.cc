// SPDX-License-Identifier: GPL-2.0-only
// compare() and the __LINE__ rule after it (ignore_line_only_changes()).
#include <gtest/gtest.h>

#include "model_builder.h"

namespace kpg::diff::test {
namespace {

// foo: call __fentry__; call CALLEE; ret
elf::ObjectFile calling(const char *path, const char *callee) {
  ModelBuilder b(path);
  elf::SymbolId f = b.function("foo", cat({call(), ret()}), STB_GLOBAL);
  b.call_at(f, 5, b.undefined(callee));
  return b.take();
}

TEST(DiffCompare, IdenticalBytesAndRelocationsAreSame) {
  DiffRun r(calling("orig.o", "printk"), calling("patched.o", "printk"));
  correlate(*r);
  compare(*r);
  EXPECT_EQ(r.status("foo"), Status::Same);
}

TEST(DiffCompare, RelocationTargetChangeIsChanged) {
  // Same bytes (the call's displacement is zero in both .o files); only the relocation says
  // the patched foo calls another function.
  DiffRun r(calling("orig.o", "printk"), calling("patched.o", "_printk"));
  correlate(*r);
  compare(*r);
  ASSERT_EQ(r.status("foo"), Status::Changed);
  ASSERT_TRUE(r.change("foo")->diff);
  EXPECT_EQ(r.change("foo")->diff->kind, DifferenceKind::Relocation);
  EXPECT_EQ(r.change("foo")->diff->offset, 5u); // the call after the fentry call
}

TEST(DiffCompare, ChangedInstructionIsChanged) {
  ModelBuilder o("orig.o"), p("patched.o");
  o.function("foo", cat({nop5(), ret()}), STB_GLOBAL);
  p.function("foo", cat({ud2(), ud2(), ud2(), ret()}), STB_GLOBAL);
  DiffRun r(o.take(), p.take());
  correlate(*r);
  compare(*r);
  ASSERT_EQ(r.status("foo"), Status::Changed);
  EXPECT_EQ(r.change("foo")->diff->offset, 5u);
}

TEST(DiffCompare, NewFunctionIsNew) {
  ModelBuilder o("orig.o"), p("patched.o");
  o.function("foo", ret(), STB_GLOBAL);
  p.function("foo", ret(), STB_GLOBAL);
  p.function("bar", ret(), STB_GLOBAL);
  DiffRun r(o.take(), p.take());
  correlate(*r);
  compare(*r);
  EXPECT_EQ(r.status("bar"), Status::New);
  EXPECT_EQ(r.status("foo"), Status::Same);
}

TEST(DiffCompare, RemovedFunctionIsListedRemoved) {
  ModelBuilder o("orig.o"), p("patched.o");
  o.function("foo", ret(), STB_GLOBAL);
  o.function("gone", ret());
  p.function("foo", ret(), STB_GLOBAL);
  DiffRun r(o.take(), p.take());
  correlate(*r);
  compare(*r);
  ASSERT_EQ(r->changes.removed.size(), 1u);
  EXPECT_EQ(r->changes.removed[0], r.orig_sym("gone"));
}

// foo: call __fentry__; mov $LINE,%esi; call SINK; ret -- might_sleep() passes __LINE__ as
// the second argument of __might_sleep(file, line).
elf::ObjectFile line_passed_to(const char *path, u32 line, const char *sink) {
  ModelBuilder b(path);
  elf::SymbolId f = b.function("foo", cat({mov_esi(line), call(), ret()}), STB_GLOBAL);
  b.call_at(f, 10, b.undefined(sink));
  return b.take();
}

TEST(DiffLineOnly, LineNumberPassedToMightSleepIsSame) {
  DiffRun r(line_passed_to("orig.o", 22, "__might_sleep"), line_passed_to("patched.o", 26, "__might_sleep"));
  correlate(*r);
  compare(*r);
  ASSERT_EQ(r.status("foo"), Status::Changed);
  EXPECT_EQ(r.change("foo")->diff->kind, DifferenceKind::Immediate);
  ignore_line_only_changes(*r);
  EXPECT_EQ(r.status("foo"), Status::Same);
  ASSERT_EQ(r.change("foo")->line_only.size(), 1u);
  EXPECT_EQ(r.change("foo")->line_only[0], "+0x5: 22 -> 26");
}

TEST(DiffLineOnly, ImmediateNotPassedToLineSinkStaysChanged) {
  // The same instruction difference before a call to an ordinary function is a real change
  // (a constant argument), not a moved line.
  DiffRun r(line_passed_to("orig.o", 22, "set_limit"), line_passed_to("patched.o", 26, "set_limit"));
  correlate(*r);
  compare(*r);
  ignore_line_only_changes(*r);
  EXPECT_EQ(r.status("foo"), Status::Changed);
}

// foo: call __fentry__; ud2 (a WARN() at LINE) ; ret
elf::ObjectFile warn_at(const char *path, u16 line, u16 flags = 0) {
  ModelBuilder b(path);
  elf::SymbolId f = b.function("foo", cat({ud2(), ret()}), STB_GLOBAL);
  b.bug_entry(f, 5, line);
  if (flags) {
    elf::Section &t = b.obj().sections[*b.obj().find_section("__bug_table")];
    t.data[10] = static_cast<u8>(flags);
  }
  return b.take();
}

TEST(DiffLineOnly, BugEntryLineOnlyIsSame) {
  DiffRun r(warn_at("orig.o", 212), warn_at("patched.o", 214));
  r.changes();
  EXPECT_EQ(r.status("foo"), Status::Same);
  ASSERT_EQ(r.change("foo")->line_only.size(), 1u);
  EXPECT_NE(r.change("foo")->line_only[0].find("212 -> 214"), std::string::npos) << r.change("foo")->line_only[0];
}

TEST(DiffCompare, BugEntryFlagsChangeIsSpecialEntryChange) {
  // WARN_ON() -> WARN_ON_ONCE(): same code, BUGFLAG_ONCE (0x4) set in the entry.
  DiffRun r(warn_at("orig.o", 212), warn_at("patched.o", 212, 0x4));
  r.changes();
  ASSERT_EQ(r.status("foo"), Status::Changed);
  EXPECT_EQ(r.change("foo")->diff->kind, DifferenceKind::SpecialEntry);
}

} // namespace
} // namespace kpg::diff::test
