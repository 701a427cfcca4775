// SPDX-License-Identifier: GPL-2.0-only
// The #include graph that finds a changed header's units without a full build, its cache,
// and the header -> units map built on it (kbuild.h: header_units).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "builder/includes.h"
#include "builder/kbuild.h"

namespace fs = std::filesystem;
using namespace kpg;
using namespace kpg::build;

namespace {

using Strings = std::vector<std::string>;

// A miniature kernel tree: a virtio_net-like header included by two drivers directly and by
// a third through another header, one of them off in the config; a generated asm wrapper in
// the object tree; a .c included by another .c; files of tools/ and arch/arm64 that an x86
// kernel never builds.
class IncludeTree : public ::testing::Test {
protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("kpg-includes-test-" + std::to_string(::getpid()));
    fs::remove_all(root);
    src = root / "src";
    obj = root / "obj";
    file(src, "include/linux/virtio_net.h", "#include <linux/types.h>\n#include <uapi/linux/virtio_net.h>\n");
    file(src, "include/linux/types.h", "#include <asm/types.h>\n");
    file(src, "include/uapi/linux/virtio_net.h", "/* uapi */\n");
    file(src, "arch/x86/include/asm/types.h", "#include <asm-generic/int-ll64.h>\n");
    file(src, "include/asm-generic/int-ll64.h", "\n");
    file(src, "include/asm-generic/mmiowb.h", "\n");
    file(src, "include/linux/if_tun.h", "#ifdef CONFIG_TUN\n#  include <linux/virtio_net.h>\n#endif\n");
    file(src, "drivers/net/Makefile", "obj-$(CONFIG_TUN) += tun.o\nobj-$(CONFIG_TAP) += tap.o\n"
                                      "obj-$(CONFIG_VIRTIO_NET) += virtio_net.o\n");
    file(src, "drivers/net/tun.c", "#include <linux/if_tun.h>\n#include \"tun_private.h\"\n");
    file(src, "drivers/net/tun_private.h", "#include <asm/mmiowb.h>\n");
    file(src, "drivers/net/tap.c", "  #  include <linux/virtio_net.h>\n");
    file(src, "drivers/net/virtio_net.c", "#include <linux/virtio_net.h> /* the driver */\n// #include <linux/nope.h>\n");
    file(src, "kernel/sched/Makefile", "obj-y += build_policy.o\n");
    file(src, "kernel/sched/build_policy.c", "#include \"sched.h\"\n#include \"rt.c\"\n");
    file(src, "kernel/sched/rt.c", "#include <linux/virtio_net.h>\n");
    file(src, "kernel/sched/sched.h", "\n");
    file(src, "tools/virtio/vhost.c", "#include <linux/virtio_net.h>\n");
    file(src, "arch/arm64/kernel/x.c", "#include <linux/virtio_net.h>\n");
    file(obj, "arch/x86/include/generated/asm/mmiowb.h", "#include <asm-generic/mmiowb.h>\n");
    file(src, ".config", "CONFIG_TUN=m\nCONFIG_VIRTIO_NET=m\n# CONFIG_TAP is not set\n");
    auto c = KernelConfig::load((src / ".config").string());
    ASSERT_TRUE(c) << c.error().str();
    config = std::move(*c);
  }
  void TearDown() override { fs::remove_all(root); }
  static void file(const fs::path &base, const std::string &rel, const std::string &text) {
    fs::create_directories((base / rel).parent_path());
    std::ofstream(base / rel) << text;
  }
  IncludeGraph scan() {
    auto g = IncludeGraph::scan(src.string(), obj.string());
    EXPECT_TRUE(g) << g.error().str();
    return g ? std::move(*g) : IncludeGraph{};
  }
  fs::path root, src, obj;
  KernelConfig config;
};

TEST(ScanIncludes, ReadsQuotedAngledAndIncludeNextDirectivesAtLineStarts) {
  auto d = scan_includes("#include <linux/a.h>\n  # include \"b.h\"\n#include_next <c.h>\n"
                         "// #include <commented.h>\n#define X 1 /* #include <no.h> */\n#include MACRO(x)\n#inc <bad.h>\n");
  std::vector<std::pair<char, std::string>> want{{'<', "linux/a.h"}, {'"', "b.h"}, {'<', "c.h"}};
  EXPECT_EQ(d, want);
}

TEST_F(IncludeTree, QuotedIncludeResolvesNextToTheIncluder) {
  IncludeGraph g = scan();
  EXPECT_EQ(g.includes("drivers/net/tun.c"), (Strings{"drivers/net/tun_private.h", "include/linux/if_tun.h"}));
}

TEST_F(IncludeTree, AngledIncludeResolvesThroughTheX86IncludePath) {
  IncludeGraph g = scan();
  EXPECT_EQ(g.includes("include/linux/types.h"), Strings{"arch/x86/include/asm/types.h"});
  EXPECT_EQ(g.includes("include/linux/virtio_net.h"), (Strings{"include/linux/types.h", "include/uapi/linux/virtio_net.h"}));
}

TEST_F(IncludeTree, GeneratedAsmWrapperInTheObjectTreeLinksItsAsmGenericHeader) {
  IncludeGraph g = scan();
  EXPECT_EQ(g.includes("arch/x86/include/generated/asm/mmiowb.h"), Strings{"include/asm-generic/mmiowb.h"});
  EXPECT_EQ(g.includers("include/asm-generic/mmiowb.h"),
            (Strings{"arch/x86/include/generated/asm/mmiowb.h", "drivers/net/tun.c", "drivers/net/tun_private.h"}));
}

TEST_F(IncludeTree, IncludersAreTransitiveAndIncludeConditionalIncludes) {
  IncludeGraph g = scan();
  EXPECT_EQ(g.includers("include/linux/virtio_net.h"),
            (Strings{"drivers/net/tap.c", "drivers/net/tun.c", "drivers/net/virtio_net.c", "include/linux/if_tun.h",
                     "kernel/sched/build_policy.c", "kernel/sched/rt.c"}));
}

TEST_F(IncludeTree, ToolsAndOtherArchitecturesAreNotScanned) {
  IncludeGraph g = scan();
  EXPECT_FALSE(g.contains("tools/virtio/vhost.c"));
  EXPECT_FALSE(g.contains("arch/arm64/kernel/x.c"));
  EXPECT_TRUE(g.contains("arch/x86/include/asm/types.h"));
}

TEST_F(IncludeTree, SerializedGraphParsesBackToTheSameEdges) {
  IncludeGraph g = scan();
  auto back = IncludeGraph::parse(g.serialize(), "test");
  ASSERT_TRUE(back) << back.error().str();
  EXPECT_EQ(back->serialize(), g.serialize());
  EXPECT_EQ(back->includers("include/linux/virtio_net.h"), g.includers("include/linux/virtio_net.h"));
  EXPECT_FALSE(IncludeGraph::parse("something else\n", "test"));
}

TEST_F(IncludeTree, SecondLoadForTheSameReleaseComesFromTheCache) {
  Progress quiet(true, 1);
  std::string cache = (root / "cache").string();
  auto first = load_include_graph(cache, src.string(), obj.string(), "6.1.0-53-cloud-amd64", quiet);
  ASSERT_TRUE(first) << first.error().str();
  EXPECT_FALSE(first->cached);
  // A file added after the scan is not seen: the second load reads the cache, not the tree.
  file(src, "drivers/net/late.c", "#include <linux/virtio_net.h>\n");
  auto second = load_include_graph(cache, src.string(), obj.string(), "6.1.0-53-cloud-amd64", quiet);
  ASSERT_TRUE(second) << second.error().str();
  EXPECT_TRUE(second->cached);
  EXPECT_EQ(second->path, first->path);
  EXPECT_EQ(second->graph.serialize(), first->graph.serialize());
  // Another release is another entry.
  auto other = load_include_graph(cache, src.string(), obj.string(), "6.1.0-57-cloud-amd64", quiet);
  ASSERT_TRUE(other) << other.error().str();
  EXPECT_FALSE(other->cached);
  EXPECT_TRUE(other->graph.contains("drivers/net/late.c"));
}

TEST_F(IncludeTree, HeaderUnitsAreTheConfiguredIncludersAndCountTheOthers) {
  IncludeGraph g = scan();
  HeaderSource hs{&g, src.string(), &config, 200};
  HeaderImpact impact;
  auto units = header_units("include/linux/virtio_net.h", hs, impact);
  ASSERT_TRUE(units) << units.error().str();
  Strings objects;
  for (const Unit &u : *units) {
    objects.push_back(u.object);
    EXPECT_EQ(u.confirm, "include/linux/virtio_net.h");
    EXPECT_EQ(u.why, "includes include/linux/virtio_net.h (changed)");
  }
  // tap.o is off (CONFIG_TAP); rt.c is compiled inside build_policy.c, which is the unit.
  EXPECT_EQ(objects, (Strings{"drivers/net/tun.o", "drivers/net/virtio_net.o", "kernel/sched/build_policy.o"}));
  EXPECT_EQ(impact.includers, 4u);
  EXPECT_EQ(impact.not_built, 1u);
  EXPECT_EQ(impact.candidates, 3u);
}

TEST_F(IncludeTree, HeaderWithMoreCandidatesThanTheLimitIsRefusedWithTheCount) {
  IncludeGraph g = scan();
  HeaderSource hs{&g, src.string(), &config, 2};
  HeaderImpact impact;
  auto units = header_units("include/linux/virtio_net.h", hs, impact);
  ASSERT_FALSE(units);
  EXPECT_NE(units.error().message.find("4 units include it, 3 of them may be built in this kernel: more than the 2"),
            std::string::npos)
      << units.error().message;
}

TEST_F(IncludeTree, AffectedUnitsWithoutFullBuildOrGraphRefuseAHeader) {
  std::vector<PatchedFile> files{PatchedFile{"include/linux/virtio_net.h", false, false, {}}};
  auto none = affected_units(files, nullptr);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("--kernel-build"), std::string::npos);
  IncludeGraph g = scan();
  HeaderSource hs{&g, src.string(), &config, 200};
  std::vector<HeaderImpact> impacts;
  auto units = affected_units(files, nullptr, &hs, &impacts);
  ASSERT_TRUE(units) << units.error().str();
  EXPECT_EQ(units->size(), 3u);
  ASSERT_EQ(impacts.size(), 1u);
  EXPECT_EQ(impacts[0].header, "include/linux/virtio_net.h");
  EXPECT_FALSE(impacts[0].from_full_build);
}

} // namespace
