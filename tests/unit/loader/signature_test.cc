// SPDX-License-Identifier: GPL-2.0-only
// Module signatures in the loader: an unsigned module is refused before loading when the
// kernel enforces signatures, and a signature the kernel rejects is explained from the file.
// Whether a signature verifies is the kernel's business (tests/e2e/sign proves that on a
// kernel with CONFIG_MODULE_SIG_FORCE); these tests give the fake kernel the outcome.
#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>

#include "elf/modsig.h"
#include "loader.h"
#include "modinfo.h"
#include "test_util.h"

namespace kpg::load::test {
namespace {

// Appends a (not cryptographically valid) PKCS#7-sized blob and the kernel's trailer: the
// loader reads only the layout; the fake kernel decides whether it verifies.
void append_signature(const std::string &ko, u32 sig_size = 300) {
  std::ofstream f(ko, std::ios::binary | std::ios::app);
  std::string blob(sig_size, '\x30');
  f.write(blob.data(), static_cast<std::streamsize>(blob.size()));
  std::vector<u8> t = elf::module_signature_trailer(sig_size);
  f.write(reinterpret_cast<const char *>(t.data()), static_cast<std::streamsize>(t.size()));
}

struct Signature : LoaderTest {
  void enforce() { k.write_tree_file("/sys/module/module/parameters/sig_enforce", "Y\n"); }
  OpResult load(const std::string &ko) { return load_module(host, rep, &store, ko, opts); }
};

TEST_F(Signature, ModinfoSeesTheAppendedSignature) {
  std::string ko = mod("kpg_a");
  auto before = read_modinfo(ko);
  ASSERT_TRUE(before) << before.error().str();
  EXPECT_FALSE(before->signature);
  append_signature(ko, 300);
  auto after = read_modinfo(ko);
  ASSERT_TRUE(after) << after.error().str();
  ASSERT_TRUE(after->signature);
  EXPECT_EQ(after->signature->sig_size, 300u);
  EXPECT_EQ(after->name, "kpg_a"); // the ELF is still read from the front
}

TEST_F(Signature, UnsignedRefusedBeforeLoadingWhenEnforced) {
  enforce();
  OpResult r = load(mod("kpg_a"));
  EXPECT_EQ(r.code, ExitCode::Refused);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "the module is not signed, and this kernel only loads signed modules "
                                    "(module.sig_enforce=Y)"))
      << r.errors[0];
  EXPECT_TRUE(contains(r.errors[0], "kpatch-gen sign")) << r.errors[0];
  EXPECT_FALSE(k.logged("finit kpg_a"));
}

TEST_F(Signature, UnsignedRefusedUnderLockdown) {
  k.write_tree_file("/sys/module/module/parameters/sig_enforce", "N\n");
  k.write_tree_file("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
  OpResult r = load(mod("kpg_a"));
  EXPECT_EQ(r.code, ExitCode::Refused);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "lockdown=integrity")) << r.errors[0];
  EXPECT_FALSE(k.logged("finit kpg_a"));
}

TEST_F(Signature, UnsignedLoadsWhenNotEnforced) {
  k.write_tree_file("/sys/module/module/parameters/sig_enforce", "N\n");
  k.write_tree_file("/sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
  EXPECT_EQ(load(mod("kpg_a")).code, ExitCode::Ok);
}

TEST_F(Signature, SignedModuleReachesTheKernelWhenEnforced) {
  enforce();
  std::string ko = mod("kpg_a");
  append_signature(ko);
  OpResult r = load(ko);
  EXPECT_EQ(r.code, ExitCode::Ok) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_TRUE(k.logged("finit kpg_a"));
}

TEST_F(Signature, MalformedTrailerRefusedWhenEnforced) {
  enforce();
  std::string ko = mod("kpg_a");
  // The marker alone: a signature length of zero.
  std::ofstream(ko, std::ios::binary | std::ios::app) << std::string(12, '\0') << elf::kModuleSigMagic;
  OpResult r = load(ko);
  EXPECT_EQ(r.code, ExitCode::Refused);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "EBADMSG")) << r.errors[0];
  EXPECT_FALSE(k.logged("finit kpg_a"));
}

TEST_F(Signature, RejectedSignatureIsExplainedAsKeyOrModification) {
  enforce();
  FakeKernel::PatchDef def;
  def.load_errno = EKEYREJECTED;
  k.define_patch("kpg_a", def);
  std::string ko = mod("kpg_a");
  append_signature(ko, 300);
  OpResult r = load(ko);
  EXPECT_EQ(r.code, ExitCode::Error);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "EKEYREJECTED")) << r.errors[0];
  EXPECT_TRUE(contains(r.errors[0], "carries a PKCS#7 signature (300 bytes")) << r.errors[0];
  EXPECT_TRUE(contains(r.errors[0], "not in the kernel's keyrings")) << r.errors[0];
  EXPECT_TRUE(contains(r.errors[0], "changed after it was signed")) << r.errors[0];
}

TEST_F(Signature, KernelRefusalOfUnsignedModuleSaysItIsUnsigned) {
  // The loader cannot always know in advance (here: no sig_enforce parameter, no securityfs
  // to show lockdown); the kernel answers EKEYREJECTED, and the file says why.
  FakeKernel::PatchDef def;
  def.load_errno = EKEYREJECTED;
  k.define_patch("kpg_a", def);
  OpResult r = load(mod("kpg_a"));
  EXPECT_EQ(r.code, ExitCode::Error);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "The module is not signed")) << r.errors[0];
}

TEST_F(Signature, PermissionErrorOfSignedModuleIsNotBlamedOnTheSignature) {
  FakeKernel::PatchDef def;
  def.load_errno = EPERM;
  k.define_patch("kpg_a", def);
  std::string ko = mod("kpg_a");
  append_signature(ko);
  OpResult r = load(ko);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0], "CAP_SYS_MODULE")) << r.errors[0];
  EXPECT_FALSE(contains(r.errors[0], "signature")) << r.errors[0];
}

} // namespace
} // namespace kpg::load::test
