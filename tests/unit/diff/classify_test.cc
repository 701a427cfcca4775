// SPDX-License-Identifier: GPL-2.0-only
// The final change set (classify()) and the passes that refuse it (check_unsupported(),
// patch_notrace_callers()).
#include <gtest/gtest.h>

#include <algorithm>

#include "model_builder.h"

namespace kpg::diff::test {
namespace {

bool has_code(const std::vector<std::string> &codes, const char *c) {
  return std::find(codes.begin(), codes.end(), c) != codes.end();
}

TEST(DiffClassify, EachSymbolGetsSameChangedOrNew) {
  ModelBuilder o("orig.o"), p("patched.o");
  for (ModelBuilder *b : {&o, &p}) {
    b->function("kept", ret(), STB_GLOBAL);
    elf::SymbolId f = b->function("edited", cat({call(), ret()}), STB_GLOBAL);
    b->call_at(f, 5, b->undefined(b == &o ? "old_helper" : "new_helper"));
  }
  p.function("added", ret(), STB_GLOBAL);
  DiffRun r(o.take(), p.take());
  r.changes();
  EXPECT_EQ(r.status("kept"), Status::Same);
  EXPECT_EQ(r.status("edited"), Status::Changed);
  EXPECT_EQ(r.status("added"), Status::New);
}

TEST(DiffClassify, ChangedColdPartChangesItsFunction) {
  // gcc moves the unlikely tail of foo (an error message) into foo.cold; a change there is a
  // change of foo, which is what ftrace can redirect.
  ModelBuilder o("orig.o"), p("patched.o");
  for (ModelBuilder *b : {&o, &p}) {
    b->function("foo", ret(), STB_GLOBAL);
    elf::SymbolId cold = b->raw_function("foo.cold", cat({call(), ud2()}), STB_LOCAL, ".text.unlikely.foo");
    b->reloc(cold, 1, R_X86_64_PLT32, b->undefined(b == &o ? "pr_err_old" : "pr_err_new"), -4);
  }
  DiffRun r(o.take(), p.take());
  r.changes();
  EXPECT_EQ(r.status("foo.cold"), Status::Changed);
  ASSERT_EQ(r.status("foo"), Status::Changed);
  EXPECT_EQ(r.change("foo")->diff->kind, DifferenceKind::Child);
}

TEST(DiffClassify, ChangedInitFunctionIsRefusedInitChanged) {
  // __init code ran at boot and is freed: changing it cannot be live patched.
  ModelBuilder o("orig.o"), p("patched.o");
  for (ModelBuilder *b : {&o, &p}) {
    elf::SymbolId f = b->function("setup_foo", cat({call(), ret()}), STB_LOCAL, ".init.text");
    b->call_at(f, 5, b->undefined(b == &o ? "parse_a" : "parse_b"));
  }
  DiffRun r(o.take(), p.take());
  r.changes();
  check_unsupported(*r);
  EXPECT_TRUE(has_code(r.refusal_codes(), code::INIT_CHANGED));
}

TEST(DiffClassify, ChangedFunctionWithoutFentryAndNoCallersIsRefusedNoFentry) {
  // A notrace function (no `call __fentry__` at its start) that nothing in the unit calls:
  // neither it nor a caller can be redirected.
  ModelBuilder o("orig.o"), p("patched.o");
  for (ModelBuilder *b : {&o, &p}) {
    elf::SymbolId f = b->raw_function("raw_op", cat({call(), ret()}), STB_GLOBAL);
    b->call_at(f, 0, b->undefined(b == &o ? "op_a" : "op_b"));
  }
  DiffRun r(o.take(), p.take());
  r.changes();
  patch_notrace_callers(*r);
  EXPECT_TRUE(has_code(r.refusal_codes(), code::NO_FENTRY));
}

TEST(DiffClassify, ChangedTraceableFunctionIsNotRefused) {
  ModelBuilder o("orig.o"), p("patched.o");
  for (ModelBuilder *b : {&o, &p}) {
    elf::SymbolId f = b->function("op", cat({call(), ret()}), STB_GLOBAL);
    b->call_at(f, 5, b->undefined(b == &o ? "op_a" : "op_b"));
  }
  DiffRun r(o.take(), p.take());
  r.changes();
  patch_notrace_callers(*r);
  check_unsupported(*r);
  EXPECT_EQ(r.status("op"), Status::Changed);
  EXPECT_TRUE(r->refusals.empty());
}

} // namespace
} // namespace kpg::diff::test
