// SPDX-License-Identifier: GPL-2.0-only
// Symbol namespaces of the live patch module: every namespace of an exported symbol the diff
// objects use is imported, once, sorted, in the generated source (modpost refuses the module
// otherwise: "uses symbol to_cxl_port from namespace CXL, but does not import it").
#include <gtest/gtest.h>

#include <fstream>

#include "builder/modgen.h"
#include "builder/namespaces.h"
#include "common/temp_dir.h"

using namespace kpg;
using namespace kpg::build;

namespace {

void write(const std::string &path, const std::string &text) { std::ofstream(path) << text; }

diff::Symvers symvers(const test::TempDir &d) {
  write(d.file("Module.symvers"), "0x11111111\tto_cxl_port\tvmlinux\tEXPORT_SYMBOL_GPL\tCXL\n"
                                  "0x22222222\tcxl_bus_type\tvmlinux\tEXPORT_SYMBOL_GPL\tCXL\n"
                                  "0x33333333\tdma_buf_get\tvmlinux\tEXPORT_SYMBOL_GPL\tDMA_BUF\n"
                                  "0x44444444\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n"
                                  "0x55555555\tunused_ns\tvmlinux\tEXPORT_SYMBOL_GPL\tIOMMUFD\n");
  auto sv = diff::Symvers::load(d.file("Module.symvers"));
  EXPECT_TRUE(sv) << sv.error().str();
  return std::move(*sv);
}

} // namespace

// The names two units' diff objects leave undefined (DiffResult::output.undefined): a
// two exports of one namespace, one of another, one without a namespace, one not exported.
TEST(Namespaces, EveryUsedNamespaceOnceAndSorted) {
  test::TempDir d("kpg-ns");
  std::vector<std::string> undefined = {"to_cxl_port", "_printk", "dma_buf_get", "cxl_bus_type", "not_exported"};
  EXPECT_EQ(imported_namespaces(undefined, symvers(d)), (std::vector<std::string>{"CXL", "DMA_BUF"}));
}

TEST(Namespaces, NoneWhenNoNamespacedExportIsUsed) {
  test::TempDir d("kpg-ns");
  EXPECT_TRUE(imported_namespaces({"_printk"}, symvers(d)).empty());
}

TEST(ModuleSource, ImportsNamespacesInOrder) {
  ModuleSpec s;
  s.name = "fix_cxl_region";
  s.target_release = "6.1.0-53-cloud-amd64";
  s.import_ns = {"CXL", "DMA_BUF"};
  auto src = render_module_source(s, "@KPG_DECLARATIONS@ @KPG_FUNCS@ @KPG_OBJECTS@ @KPG_MODULE_CALLBACKS@ @KPG_REPLACE@ @KPG_MODINFO@");
  ASSERT_TRUE(src) << src.error().str();
  size_t cxl = src->find("MODULE_INFO(import_ns, \"CXL\");"), dma = src->find("MODULE_INFO(import_ns, \"DMA_BUF\");");
  ASSERT_NE(cxl, std::string::npos);
  ASSERT_NE(dma, std::string::npos);
  EXPECT_LT(cxl, dma);
}
