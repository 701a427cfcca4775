// SPDX-License-Identifier: GPL-2.0-only
// correlate(): which symbol of the patched object is the twin of which original one.
#include <gtest/gtest.h>

#include "model_builder.h"

namespace kpg::diff::test {
namespace {

TEST(DiffCorrelate, SameNameGlobalFunctionsPair) {
  ModelBuilder o("orig.o"), p("patched.o");
  o.function("cmdline_proc_show", ret(), STB_GLOBAL);
  p.function("cmdline_proc_show", ret(), STB_GLOBAL);
  DiffRun r(o.take(), p.take());
  correlate(*r);
  EXPECT_EQ(r->corr.o2p.get(r.orig_sym("cmdline_proc_show")), r.patched_sym("cmdline_proc_show"));
  EXPECT_EQ(r->corr.p2o.get(r.patched_sym("cmdline_proc_show")), r.orig_sym("cmdline_proc_show"));
}

TEST(DiffCorrelate, RenumberedIsraCloneOfStaticPairs) {
  // GCC numbers IPA clones per unit: a patch that adds a clone earlier in the file turns
  // show_map.isra.0 into show_map.isra.1; it is still the same function.
  ModelBuilder o("orig.o"), p("patched.o");
  o.function("show_map.isra.0", ret());
  p.function("show_map.isra.1", ret());
  DiffRun r(o.take(), p.take());
  correlate(*r);
  EXPECT_EQ(r->corr.o2p.get(r.orig_sym("show_map.isra.0")), r.patched_sym("show_map.isra.1"));
}

TEST(DiffCorrelate, RenumberedConstpropCloneOfStaticPairs) {
  ModelBuilder o("orig.o"), p("patched.o");
  o.function("do_it.constprop.0", ret());
  p.function("do_it.constprop.2", ret());
  DiffRun r(o.take(), p.take());
  correlate(*r);
  EXPECT_EQ(r->corr.o2p.get(r.orig_sym("do_it.constprop.0")), r.patched_sym("do_it.constprop.2"));
}

TEST(DiffCorrelate, CloneAndPlainFunctionAreNotTwins) {
  // foo.isra.0 has another calling convention than foo: when GCC starts cloning, the clone is
  // a new function, not a renamed foo.
  ModelBuilder o("orig.o"), p("patched.o");
  o.function("foo", ret());
  p.function("foo.isra.0", ret());
  DiffRun r(o.take(), p.take());
  correlate(*r);
  EXPECT_FALSE(r->corr.o2p.has(r.orig_sym("foo")));
  EXPECT_FALSE(r->corr.p2o.has(r.patched_sym("foo.isra.0")));
}

TEST(DiffCorrelate, NewFunctionHasNoTwin) {
  ModelBuilder o("orig.o"), p("patched.o");
  o.function("foo", ret(), STB_GLOBAL);
  p.function("foo", ret(), STB_GLOBAL);
  p.function("bar", ret(), STB_GLOBAL);
  DiffRun r(o.take(), p.take());
  correlate(*r);
  EXPECT_FALSE(r->corr.p2o.has(r.patched_sym("bar")));
  EXPECT_TRUE(r->corr.p2o.has(r.patched_sym("foo")));
}

} // namespace
} // namespace kpg::diff::test
