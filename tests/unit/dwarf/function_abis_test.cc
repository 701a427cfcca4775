// SPDX-License-Identifier: GPL-2.0-only
// function_abis(): a function's prototype and the types it reaches, from a relocatable
// object's DWARF, to explain a genksyms CRC change.
#include <gtest/gtest.h>

#include "dwarf/dwarf.h"
#include "dwarf_test_util.h"

namespace kpg::dwarf::test {
namespace {

class FunctionAbis : public ::testing::TestWithParam<int> {
protected:
  TempDir dir;
  std::map<std::string, FunctionAbi> abis(const std::string &source, const std::vector<std::string> &names) {
    std::string obj = compile(dir, "unit.c", source, std::string(kKernelCflags) + " " + dwarf_flag(GetParam()));
    auto r = function_abis(must_read(obj), names);
    if (!r)
      throw std::runtime_error(r.error().str());
    return std::move(*r);
  }
};

TEST_P(FunctionAbis, PrototypeAndTheStructsItReachesThroughPointers) {
  auto a = abis(R"(
typedef unsigned int u32;
struct bar { int x; };
struct foo { u32 a; struct bar *b; struct foo *next; };
int kpg_f(struct foo *p, unsigned long n) { return p && n ? p->b->x : 0; }
)",
                {"kpg_f"});
  ASSERT_EQ(a.count("kpg_f"), 1u);
  const FunctionAbi &f = a.at("kpg_f");
  EXPECT_EQ(f.prototype, "int(struct foo *, long unsigned int)");
  EXPECT_EQ(f.aggregates.at("struct foo"), "{u32 a@0; struct bar * b@8; struct foo * next@16; } size 24");
  EXPECT_EQ(f.aggregates.at("struct bar"), "{int x@0; } size 4");
  EXPECT_EQ(f.aggregates.at("typedef u32"), "unsigned int");
}

TEST_P(FunctionAbis, AStructTheUnitOnlyDeclaresIsOpaque) {
  auto a = abis("struct kpg_s;\nint kpg_f(struct kpg_s *p) { return p != 0; }\n", {"kpg_f"});
  EXPECT_EQ(a.at("kpg_f").aggregates.at("struct kpg_s"), FunctionAbi::kOpaque);
}

TEST_P(FunctionAbis, EnumeratorsWithTheirValues) {
  auto a = abis("enum kpg_e { KPG_A = -1, KPG_B = 7 };\nint kpg_f(enum kpg_e e) { return e == KPG_B; }\n", {"kpg_f"});
  EXPECT_EQ(a.at("kpg_f").prototype, "int(enum kpg_e)");
  EXPECT_EQ(a.at("kpg_f").aggregates.at("enum kpg_e"), "{KPG_A=-1, KPG_B=7} size 4");
}

TEST_P(FunctionAbis, AMemberChangeChangesTheLayout) {
  std::string before = abis("struct kpg_s { int a; };\nint kpg_f(struct kpg_s *p) { return p->a; }\n", {"kpg_f"})
                           .at("kpg_f")
                           .aggregates.at("struct kpg_s");
  std::string after = abis("struct kpg_s { long a; };\nint kpg_f(struct kpg_s *p) { return p->a; }\n", {"kpg_f"})
                          .at("kpg_f")
                          .aggregates.at("struct kpg_s");
  EXPECT_NE(before, after);
}

TEST_P(FunctionAbis, FunctionPointersArraysAndQualifiers) {
  auto a = abis("struct kpg_ops { int (*op)(const char *, int); char name[16]; };\n"
                "int kpg_f(const struct kpg_ops *o, ...) { return o->op(o->name, 1); }\n",
                {"kpg_f"});
  EXPECT_EQ(a.at("kpg_f").prototype, "int(const struct kpg_ops *, ...)");
  EXPECT_EQ(a.at("kpg_f").aggregates.at("struct kpg_ops"),
            "{fn int(const char *, int) * op@0; char[16] name@8; } size 24");
}

TEST_P(FunctionAbis, NamesTheUnitDoesNotDefineAreAbsent) {
  auto a = abis("extern int kpg_g(int);\nint kpg_f(int x) { return kpg_g(x); }\n", {"kpg_f", "kpg_g", "kpg_h"});
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(a.at("kpg_f").prototype, "int(int)");
}

INSTANTIATE_TEST_SUITE_P(Dwarf, FunctionAbis, ::testing::Values(4, 5), dwarf_version_name);

} // namespace
} // namespace kpg::dwarf::test
