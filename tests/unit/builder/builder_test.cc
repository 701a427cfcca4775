// SPDX-License-Identifier: GPL-2.0-only
// Unit tests for the builder's pure pieces: patch parsing, module naming and source
// generation, compiler identity, .modinfo parsing, Debian release names.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "builder/compiler.h"
#include "builder/debian.h"
#include "builder/modgen.h"
#include "builder/patchfile.h"
#include "builder/verify.h"

namespace fs = std::filesystem;
using namespace kpg;
using namespace kpg::build;

namespace {

std::string write_temp(const std::string &name, const std::string &text) {
  fs::path dir = fs::temp_directory_path() / "kpg-builder-test";
  fs::create_directories(dir);
  fs::path p = dir / name;
  std::ofstream(p) << text;
  return p.string();
}

TEST(PatchFile, GitFormatPatchListsFilesWithoutThePrefix) {
  auto p = parse_patch(write_temp("git.patch", "From abc Mon Sep 17 00:00:00 2001\n"
                                               "Subject: [PATCH] x\n---\n"
                                               "diff --git a/fs/proc/cmdline.c b/fs/proc/cmdline.c\n"
                                               "index 1..2 100644\n"
                                               "--- a/fs/proc/cmdline.c\n+++ b/fs/proc/cmdline.c\n"
                                               "@@ -1,1 +1,1 @@\n-a\n+b\n"
                                               "--- a/include/linux/x.h\t2024-01-01 00:00:00\n"
                                               "+++ b/include/linux/x.h\t2024-01-01 00:00:00\n@@ -1 +1 @@\n-a\n+b\n"));
  ASSERT_TRUE(p) << p.error().str();
  ASSERT_EQ(p->files.size(), 2u);
  EXPECT_EQ(p->files[0].path, "fs/proc/cmdline.c");
  EXPECT_EQ(p->files[1].path, "include/linux/x.h"); // the timestamp after the tab is not part of it
  EXPECT_FALSE(p->files[0].created);
}

TEST(PatchFile, NewAndDeletedFilesAreMarked) {
  auto p = parse_patch(write_temp("newdel.patch", "--- /dev/null\n+++ b/fs/new.c\n@@ -0,0 +1 @@\n+x\n"
                                                  "--- a/fs/old.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"));
  ASSERT_TRUE(p);
  ASSERT_EQ(p->files.size(), 2u);
  EXPECT_TRUE(p->files[0].created);
  EXPECT_EQ(p->files[0].path, "fs/new.c");
  EXPECT_TRUE(p->files[1].deleted);
  EXPECT_EQ(p->files[1].path, "fs/old.c");
}

TEST(PatchFile, TextWithoutHeadersIsNotAPatch) {
  auto p = parse_patch(write_temp("notapatch.patch", "hello\nworld\n"));
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().str().find("not a unified diff"), std::string::npos);
}

TEST(PatchFile, PathEscapingTheTreeIsRefused) {
  auto p = parse_patch(write_temp("escape.patch", "--- a/../etc/passwd\n+++ b/../etc/passwd\n"));
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().str().find("../etc/passwd"), std::string::npos);
}

TEST(PatchFile, AssemblyVdsoAndBuildFilesAreUnsupported) {
  EXPECT_NE(unsupported_reason("arch/x86/entry/entry_64.S"), "");
  EXPECT_NE(unsupported_reason("arch/x86/entry/vdso/vclock_gettime.c"), "");
  EXPECT_NE(unsupported_reason("arch/x86/boot/main.c"), "");
  EXPECT_NE(unsupported_reason("fs/proc/Makefile"), "");
  EXPECT_EQ(unsupported_reason("fs/proc/cmdline.c"), "");
  EXPECT_EQ(unsupported_reason("include/linux/sched.h"), "");
}

TEST(ModuleName, IsSanitisedAndTruncated) {
  EXPECT_EQ(sanitize_module_name("livepatch_cmdline-string"), "livepatch_cmdline_string");
  EXPECT_EQ(sanitize_module_name("0day"), "livepatch_0day");
  EXPECT_EQ(sanitize_module_name(std::string(80, 'a')).size(), 55u);
}

ModuleSpec sample_spec() {
  ModuleSpec s;
  s.name = "livepatch_x";
  s.target_release = "6.1.192";
  s.target_build_id = "abcd";
  s.cves = {"CVE-2099-1", "CVE-2099-2"};
  s.description = "a \"quoted\" fix";
  ModuleObject v{"vmlinux", {{"cmdline_proc_show", 0, "__kpg_new.vmlinux.cmdline_proc_show.0", "fs/proc/cmdline.c"}}, {}};
  ModuleObject m{"binfmt_misc", {{"bm_status_read", 2, "__kpg_new.binfmt_misc.bm_status_read.2", "fs/binfmt_misc.c"}},
                 {{diff::CallbackKind::PrePatch, "__kpg_cb.binfmt_misc.pre_patch"},
                  {diff::CallbackKind::PostUnpatch, "__kpg_cb.binfmt_misc.post_unpatch"}}};
  s.objects = {v, m};
  return s;
}

const char *kTemplate = "@KPG_DECLARATIONS@\n@KPG_MODULE_CALLBACKS@\n@KPG_FUNCS@\nobjs {\n@KPG_OBJECTS@\n}\nreplace=@KPG_REPLACE@\n@KPG_MODINFO@\n";

TEST(ModuleSource, DeclaresAliasesWithAsmNamesAndFillsKlpTables) {
  auto src = render_module_source(sample_spec(), kTemplate);
  ASSERT_TRUE(src) << src.error().str();
  EXPECT_NE(src->find("extern char kpg_new_0_0[] __asm__(\"__kpg_new.vmlinux.cmdline_proc_show.0\");"), std::string::npos);
  EXPECT_NE(src->find(".old_name = \"bm_status_read\""), std::string::npos);
  EXPECT_NE(src->find(".old_sympos = 2"), std::string::npos);
  EXPECT_NE(src->find(".name = NULL"), std::string::npos);          // vmlinux
  EXPECT_NE(src->find(".name = \"binfmt_misc\""), std::string::npos);
  EXPECT_NE(src->find("replace=true"), std::string::npos);
}

TEST(ModuleSource, CallbacksHaveTheirKernelSignatures) {
  auto src = render_module_source(sample_spec(), kTemplate);
  ASSERT_TRUE(src);
  EXPECT_NE(src->find("extern int kpg_cb_1_pre_patch(struct klp_object *obj) __asm__(\"__kpg_cb.binfmt_misc.pre_patch\");"),
            std::string::npos);
  EXPECT_NE(src->find("extern void kpg_cb_1_post_unpatch(struct klp_object *obj)"), std::string::npos);
  EXPECT_NE(src->find(".pre_patch = kpg_cb_1_pre_patch"), std::string::npos);
}

// 6.1 does not clear a module's livepatch relocations when it unloads: every module object's
// post_unpatch clears them, after the patch's own post_unpatch callback.
TEST(ModuleSource, ModuleObjectsClearTheirRelocationsAfterTheirOwnPostUnpatch) {
  auto src = render_module_source(sample_spec(), kTemplate);
  ASSERT_TRUE(src);
  EXPECT_NE(src->find("#define KPG_MODULE_OBJECTS 1"), std::string::npos);
  EXPECT_NE(src->find("static void kpg_going_1(struct klp_object *obj)\n{\n\tkpg_cb_1_post_unpatch(obj);\n"
                      "\tkpg_clear_module_relocs(obj);\n}\n"),
            std::string::npos);
  EXPECT_NE(src->find(".post_unpatch = kpg_going_1"), std::string::npos);
  EXPECT_EQ(src->find(".post_unpatch = kpg_cb_1_post_unpatch"), std::string::npos);
  EXPECT_EQ(src->find("kpg_going_0"), std::string::npos); // vmlinux never goes away
  ModuleSpec v = sample_spec();
  v.objects.pop_back();
  auto only_vmlinux = render_module_source(v, kTemplate);
  ASSERT_TRUE(only_vmlinux);
  EXPECT_NE(only_vmlinux->find("#define KPG_MODULE_OBJECTS 0"), std::string::npos);
}

TEST(ModuleSource, RecordsTargetAndCvesAndEscapesStrings) {
  auto src = render_module_source(sample_spec(), kTemplate);
  ASSERT_TRUE(src);
  EXPECT_NE(src->find("MODULE_INFO(kpg_target_release, \"6.1.192\");"), std::string::npos);
  EXPECT_NE(src->find("MODULE_INFO(kpg_target_build_id, \"abcd\");"), std::string::npos);
  EXPECT_NE(src->find("MODULE_INFO(kpg_cve, \"CVE-2099-2\");"), std::string::npos);
  EXPECT_NE(src->find("MODULE_DESCRIPTION(\"a \\\"quoted\\\" fix\");"), std::string::npos);
}

TEST(ModuleSource, NoReplaceSetsReplaceFalse) {
  ModuleSpec s = sample_spec();
  s.replace = false;
  auto src = render_module_source(s, kTemplate);
  ASSERT_TRUE(src);
  EXPECT_NE(src->find("replace=false"), std::string::npos);
}

TEST(ModuleSource, TemplateWithoutAPlaceholderIsAnError) {
  auto src = render_module_source(sample_spec(), "@KPG_FUNCS@ only");
  ASSERT_FALSE(src);
  EXPECT_NE(src.error().message.find("@KPG_DECLARATIONS@"), std::string::npos);
}

TEST(Compiler, IdentityIgnoresTheProgramName) {
  EXPECT_EQ(compiler_identity("GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"), "(Debian 12.2.0-14+deb12u1) 12.2.0");
  EXPECT_EQ(compiler_identity("gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"), "(Debian 12.2.0-14+deb12u1) 12.2.0");
  EXPECT_NE(compiler_identity("gcc (Debian 12.2.0-14) 12.2.0"), compiler_identity("GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"));
}

TEST(Compiler, ProducerDifferencesIgnoreOurSectionFlags) {
  std::string target = "GNU C11 12.2.0 -mno-sse -O2 -fno-common";
  EXPECT_TRUE(producer_differences(target, target + " -ffunction-sections -fdata-sections").empty());
  auto d = producer_differences(target, "GNU C11 12.2.0 -mno-sse -O3 -fno-common");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "+-O3");
  EXPECT_EQ(d[1], "--O2");
}

// Debian's 6.12 configs name the compiler by its triplet ("x86_64-linux-gnu-gcc-12 (Debian
// 12.2.0-14+deb12u1) 12.2.0"), its 6.1 ones by "gcc-12 (...)": the same build of gcc, which
// kbuild then runs by that name (Debian 12 installs both).
TEST(Compiler, Debian612TripletNameIsTheSameCompiler) {
  EXPECT_EQ(compiler_identity("x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"),
            compiler_identity("gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"));
  auto cfg = write_temp("config612", "CONFIG_CC_VERSION_TEXT=\"x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\"\n");
  EXPECT_EQ(compiler_from_config(cfg), "x86_64-linux-gnu-gcc-12");
}

TEST(Compiler, ComesFromTheConfigsVersionText) {
  auto cfg = write_temp("config", "CONFIG_X=y\nCONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\"\n");
  EXPECT_EQ(compiler_from_config(cfg), "gcc-12");
  EXPECT_EQ(compiler_from_config(write_temp("config2", "CONFIG_X=y\n")), "gcc");
}

TEST(Modinfo, KeysValuesAndRepeatedKeys) {
  static const char lit[] = "livepatch=Y\0vermagic=6.1.192 SMP mod_unload \0kpg_cve=A\0kpg_cve=B\0";
  std::string raw(lit, sizeof lit - 1);
  std::vector<u8> bytes(raw.begin(), raw.end());
  auto m = parse_modinfo(bytes);
  EXPECT_EQ(m["livepatch"], "Y");
  EXPECT_EQ(m["vermagic"], "6.1.192 SMP mod_unload ");
  auto all = modinfo_all(bytes);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[2].second, "A");
  EXPECT_EQ(all[3].second, "B");
}

TEST(Debian, ReleaseNames) {
  EXPECT_TRUE(is_debian_release("6.1.0-56-cloud-amd64"));
  EXPECT_TRUE(is_debian_release("6.1.0-3-amd64"));
  EXPECT_FALSE(is_debian_release("6.18.44-fc-v669"));
  EXPECT_FALSE(is_debian_release("6.1.0-56-cloud-amd64; rm -rf /"));
  EXPECT_TRUE(is_debian_release("6.12.118+deb12-cloud-amd64"));
  EXPECT_FALSE(is_debian_release("6.12.118-cloud-amd64"));
}

// The series names the source package: linux-source-6.1 or linux-source-6.12.
TEST(Debian, SeriesOfARelease) {
  EXPECT_EQ(debian_kernel_series("6.1.0-57-cloud-amd64"), "6.1");
  EXPECT_EQ(debian_kernel_series("6.12.118+deb12-cloud-amd64"), "6.12");
  EXPECT_EQ(debian_kernel_series("6.12.38+deb13-amd64"), "6.12");
  EXPECT_EQ(debian_kernel_series("6.18.44-fc-v669"), std::nullopt);
}

} // namespace
