// SPDX-License-Identifier: GPL-2.0-only
// include_closure(): what the output object must contain.
#include <gtest/gtest.h>

#include "model_builder.h"

namespace kpg::diff::test {
namespace {

TEST(DiffInclude, ChangedFunctionIsIncludedAsChangedFunction) {
  ModelBuilder o("orig.o"), p("patched.o");
  for (ModelBuilder *b : {&o, &p}) {
    elf::SymbolId f = b->function("foo", cat({call(), ret()}), STB_GLOBAL);
    b->call_at(f, 5, b->undefined(b == &o ? "a" : "b"));
  }
  DiffRun r(o.take(), p.take());
  r.changes();
  include_closure(*r);
  const auto &why = r->incl.symbols.get(r.patched_sym("foo"));
  ASSERT_TRUE(why);
  EXPECT_EQ(why->kind, IncludeKind::ChangedFunction);
}

TEST(DiffInclude, ChangedFunctionPullsItsNewStaticCallee) {
  // The patch adds `static int check_len()` and calls it from foo: the running kernel has no
  // check_len, so the module carries it.
  ModelBuilder o("orig.o"), p("patched.o");
  o.function("foo", ret(), STB_GLOBAL);
  elf::SymbolId helper = p.function("check_len", ret());
  elf::SymbolId foo = p.function("foo", cat({call(), ret()}), STB_GLOBAL);
  p.call_at(foo, 5, helper);
  DiffRun r(o.take(), p.take());
  r.changes();
  include_closure(*r);
  const auto &why = r->incl.symbols.get(r.patched_sym("check_len"));
  ASSERT_TRUE(why);
  EXPECT_EQ(why->kind, IncludeKind::NewFunction);
}

// foo calls the static `helper` (unchanged) and CALLEE.
elf::ObjectFile with_static_helper(const char *path, const char *callee) {
  ModelBuilder b(path);
  elf::SymbolId helper = b.function("helper", ret());
  elf::SymbolId foo = b.function("foo", cat({call(), call(), ret()}), STB_GLOBAL);
  b.call_at(foo, 5, helper);
  b.call_at(foo, 10, b.undefined(callee));
  return b.take();
}

TEST(DiffInclude, UnchangedStaticCalleeIsNotCopied) {
  // The copy of foo must call the running kernel's helper (and share its state), not a copy.
  DiffRun r(with_static_helper("orig.o", "a"), with_static_helper("patched.o", "b"));
  r.changes();
  include_closure(*r);
  EXPECT_TRUE(r->incl.has(r.patched_sym("foo")));
  EXPECT_FALSE(r->incl.has(r.patched_sym("helper")));
}

TEST(DiffInclude, UnchangedStaticCalleeBecomesKlpReference) {
  DiffRun r(with_static_helper("orig.o", "a"), with_static_helper("patched.o", "b"));
  r.through_plan();
  const auto &ref = r->plan.external.get(r.patched_sym("helper"));
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->kind, RefKind::Klp);
  EXPECT_EQ(ref->objname, "vmlinux");
  EXPECT_EQ(ref->name, "helper");
}

TEST(DiffInclude, UnchangedUnitIncludesNothing) {
  DiffRun r(with_static_helper("orig.o", "a"), with_static_helper("patched.o", "a"));
  r.changes();
  include_closure(*r);
  EXPECT_TRUE(r->incl.order.empty());
}

} // namespace
} // namespace kpg::diff::test
