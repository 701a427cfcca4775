// SPDX-License-Identifier: GPL-2.0-only
// plan_relocations() (and build_output()'s records of it): how each reference of the copied
// code reaches the running kernel.
#include <gtest/gtest.h>

#include <algorithm>

#include "model_builder.h"

namespace kpg::diff::test {
namespace {

// foo calls the static `helper` (unchanged), `printk` and `CALLEE`.
elf::ObjectFile unit(const char *path, const char *callee) {
  ModelBuilder b(path);
  elf::SymbolId helper = b.function("helper", ret());
  elf::SymbolId foo = b.function("foo", cat({call(), call(), call(), ret()}), STB_GLOBAL);
  b.call_at(foo, 5, helper);
  b.call_at(foo, 10, b.undefined("printk"));
  b.call_at(foo, 15, b.undefined(callee));
  return b.take();
}

// The running kernel's symtab: two units with a static `helper` (ours second, so its sympos
// is 2), exported printk, and the unexported global `internal_fn`.
TargetSymbols running_kernel() {
  ModelBuilder k("vmlinux", "other.c");
  k.function("helper", ret());
  k.file("unit.c");
  k.function("helper", ret());
  k.function("foo", ret(), STB_GLOBAL);
  k.function("printk", ret(), STB_GLOBAL);
  k.function("internal_fn", ret(), STB_GLOBAL);
  elf::ObjectFile o = k.take();
  return TargetSymbols::from_object(o);
}

Symvers exports() {
  auto s = Symvers::parse("0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n", "Module.symvers");
  if (!s)
    throw std::runtime_error(s.error().message);
  return std::move(*s);
}

struct Planned {
  TargetSymbols target = running_kernel();
  Symvers symvers = exports();
  DiffRun r;
  Planned() : r(unit("orig.o", "a"), unit("patched.o", "internal_fn"), TargetKernel{&target, &symvers, &no_sizes}) {
    r.through_plan();
  }
  static inline const std::map<std::string, u64> no_sizes;
};

TEST(DiffPlanRelocs, TargetLocalBecomesKlpSymWithItsSympos) {
  Planned p;
  EXPECT_TRUE(p.r->refusals.empty());
  const auto &ref = p.r->plan.external.get(p.r.patched_sym("helper"));
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->kind, RefKind::Klp);
  EXPECT_EQ(ref->objname, "vmlinux");
  EXPECT_EQ(ref->name, "helper");
  EXPECT_EQ(ref->sympos, 2u);
}

TEST(DiffPlanRelocs, ExportedSymbolStaysNormalRelocation) {
  Planned p;
  const auto &ref = p.r->plan.external.get(p.r.patched_sym("printk"));
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->kind, RefKind::Normal);
}

TEST(DiffPlanRelocs, UnexportedGlobalOfTargetBecomesKlpSym) {
  Planned p;
  const auto &ref = p.r->plan.external.get(p.r.patched_sym("internal_fn"));
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->kind, RefKind::Klp);
  EXPECT_EQ(ref->objname, "vmlinux");
}

TEST(DiffPlanRelocs, OutputRecordsKlpRelocationsAndKeepsExportsUndefined) {
  Planned p;
  build_output(*p.r);
  ASSERT_TRUE(p.r->refusals.empty());
  const OutputInfo &out = p.r->out_info;
  std::vector<std::string> klp;
  for (const KlpRelocRecord &k : out.klp_relocs)
    klp.push_back(klp_sym_name(k.objname, k.symbol, k.sympos));
  std::sort(klp.begin(), klp.end());
  EXPECT_EQ(klp, (std::vector<std::string>{".klp.sym.vmlinux.helper,2", ".klp.sym.vmlinux.internal_fn,0"}));
  EXPECT_NE(std::find(out.undefined.begin(), out.undefined.end(), "printk"), out.undefined.end());
  EXPECT_EQ(std::find(out.undefined.begin(), out.undefined.end(), "helper"), out.undefined.end());
}

} // namespace
} // namespace kpg::diff::test
