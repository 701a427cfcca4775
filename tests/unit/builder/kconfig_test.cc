// SPDX-License-Identifier: GPL-2.0-only
// Files a configuration does not build, read from Makefiles and .config (lines as in 6.1).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "builder/kconfig.h"

namespace fs = std::filesystem;
using namespace kpg;
using namespace kpg::build;

namespace {

class FakeTree : public ::testing::Test {
protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("kpg-kconfig-test-" + std::to_string(::getpid()));
    fs::remove_all(root);
    file("drivers/Makefile", "obj-y\t\t\t\t+= tty/\nobj-$(CONFIG_USB_PHY)\t\t+= usb/\nobj-$(CONFIG_USB)\t\t+= usb/\n");
    file("drivers/tty/Makefile", "obj-$(CONFIG_TTY)\t\t+= tty_io.o n_tty.o \\\n\t\t\t   tty_ioctl.o\n"
                                 "obj-$(CONFIG_N_GSM)\t\t+= n_gsm.o # GSM 07.10\n");
    file("drivers/usb/Makefile", "obj-$(CONFIG_USB)\t\t+= core/\n");
    file("drivers/usb/core/Makefile", "usbcore-y := usb.o hub.o hcd.o\nusbcore-$(CONFIG_OF)\t\t+= of.o\n"
                                      "obj-$(CONFIG_USB)\t+= usbcore.o\n");
    file("fs/Makefile", "obj-$(CONFIG_NFSD)\t\t+= nfsd/\n");
    file("fs/nfsd/Makefile", "obj-$(CONFIG_NFSD)\t+= nfsd.o\nnfsd-y \t\t\t+= trace.o\n"
                             "nfsd-y \t\t\t+= nfssvc.o nfsctl.o nfsfh.o vfs.o \\\n\t\t\t   export.o auth.o lockd.o nfscache.o\n"
                             "nfsd-$(CONFIG_NFSD_V4) += nfs4proc.o\n");
    file("kernel/Makefile", "ifeq ($(CONFIG_FOO),y)\nobj-y += foo.o\nendif\nobj-$(subst m,y,$(CONFIG_BAR)) += bar.o\n");
    file(".config", "CONFIG_TTY=y\n# CONFIG_N_GSM is not set\nCONFIG_NFSD=m\n# CONFIG_NFSD_V4 is not set\n"
                    "CONFIG_USB_SUPPORT=y\n");
    auto c = KernelConfig::load((root / ".config").string());
    ASSERT_TRUE(c) << c.error().str();
    config = std::move(*c);
  }
  void TearDown() override { fs::remove_all(root); }
  void file(const std::string &rel, const std::string &text) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
  }
  std::optional<NotBuilt> why(const std::string &source) { return not_built_reason(root.string(), source, config); }
  fs::path root;
  KernelConfig config;
};

TEST_F(FakeTree, ObjectOfAnOptionThatIsNotSet) {
  auto w = why("drivers/tty/n_gsm.c");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->option, "CONFIG_N_GSM");
  EXPECT_EQ(w->where, "drivers/tty/Makefile: obj-$(CONFIG_N_GSM)\t\t+= n_gsm.o");
}

TEST_F(FakeTree, ObjectOfAnEnabledOptionIsBuilt) {
  EXPECT_FALSE(why("drivers/tty/n_tty.c"));
  EXPECT_FALSE(why("drivers/tty/tty_ioctl.c")); // on a continuation line
}

TEST_F(FakeTree, PartOfACompositeWhoseOptionIsAbsent) {
  // CONFIG_USB has no line at all in the cloud flavour's .config: its parent menu is off.
  auto w = why("drivers/usb/core/usb.c");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->option, "CONFIG_USB");
  EXPECT_EQ(w->where, "drivers/usb/core/Makefile: obj-$(CONFIG_USB)\t+= usbcore.o");
}

TEST_F(FakeTree, PartOfABuiltModuleIsBuilt) { EXPECT_FALSE(why("fs/nfsd/nfscache.c")); }

TEST_F(FakeTree, ConditionalPartOfABuiltModule) {
  auto w = why("fs/nfsd/nfs4proc.c");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->option, "CONFIG_NFSD_V4");
}

TEST_F(FakeTree, DirectoryNotDescendedInto) {
  file("drivers/usb/core/Makefile", "obj-y += usb.o\n"); // the object alone would be built
  auto w = why("drivers/usb/core/usb.c");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->option, "CONFIG_USB");
  EXPECT_EQ(w->where, "drivers/usb/Makefile: obj-$(CONFIG_USB)\t\t+= core/");
}

TEST_F(FakeTree, BuildStateKeepsWhatTheReaderCannotJudgeApart) {
  auto state = [&](const std::string &f) { return build_state(root.string(), f, config); };
  EXPECT_EQ(state("drivers/tty/n_tty.c"), BuildState::Built);
  EXPECT_EQ(state("fs/nfsd/nfscache.c"), BuildState::Built); // part of a module that is on
  EXPECT_EQ(state("drivers/tty/n_gsm.c"), BuildState::NotBuilt);
  EXPECT_EQ(state("drivers/usb/core/usb.c"), BuildState::NotBuilt);
  EXPECT_EQ(state("kernel/bar.c"), BuildState::Unknown);   // $(subst ...)
  EXPECT_EQ(state("kernel/other.c"), BuildState::Unknown); // never named
}

TEST_F(FakeTree, WhatTheReaderCannotJudgeCountsAsBuilt) {
  EXPECT_FALSE(why("kernel/foo.c"));   // inside ifeq: read as obj-y
  EXPECT_FALSE(why("kernel/bar.c"));   // $(subst ...)
  EXPECT_FALSE(why("kernel/other.c")); // never named
  EXPECT_FALSE(why("mm/nowhere.c"));   // no Makefile
}

} // namespace

// arch/x86/mm/ident_map.c has no object: arch/x86/mm/init_64.c #includes it (6.1, line 61).
class IncludedSource : public FakeTree {
protected:
  void SetUp() override {
    FakeTree::SetUp();
    file("arch/x86/mm/Makefile", "obj-y\t:= init.o init_$(BITS).o fault.o \\\n\t   pgtable.o\n"
                                 "obj-$(CONFIG_N_GSM) += gsm_only.o\n");
    file("arch/x86/mm/init_64.c", "#include <linux/mm.h>\n\n#include \"ident_map.c\"\n");
    file("arch/x86/mm/gsm_only.c", "#include \"ident_map.c\"\n"); // includes it, but is not built
    file("arch/x86/mm/pgtable.c", "/* #include \"ident_map.c\" would be a comment */\n#include <ident_map.c>\n");
    file("arch/x86/mm/ident_map.c", "static int ident_pud_init(void) { return 0; }\n");
    file("arch/x86/mm/fault.c", "int f;\n");
  }
};

TEST_F(IncludedSource, TheBuiltUnitThatIncludesItIsNamedWithItsLine) {
  auto inc = including_units(root.string(), "arch/x86/mm/ident_map.c", config);
  ASSERT_EQ(inc.size(), 1u);
  EXPECT_EQ(inc[0].source, "arch/x86/mm/init_64.c");
  EXPECT_EQ(inc[0].rule, "arch/x86/mm/init_64.c:3: #include \"ident_map.c\"");
}

TEST_F(IncludedSource, AnObjectOfItsOwnIsNotAnIncludedFile) {
  file("arch/x86/mm/pgtable.c", "#include \"fault.c\"\n");
  EXPECT_TRUE(including_units(root.string(), "arch/x86/mm/fault.c", config).empty());
}

TEST_F(IncludedSource, AFileNothingIncludesHasNoIncluder) {
  file("arch/x86/mm/orphan.c", "int x;\n");
  EXPECT_TRUE(including_units(root.string(), "arch/x86/mm/orphan.c", config).empty());
}
