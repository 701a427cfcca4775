// SPDX-License-Identifier: GPL-2.0-only
// changed_struct_definitions(): which struct/union definitions a header change alters.
#include <gtest/gtest.h>

#include "builder/struct_defs.h"

namespace kpg::build {
namespace {

std::vector<std::string> names(const std::vector<StructChange> &v) {
  std::vector<std::string> n;
  for (const StructChange &c : v)
    n.push_back(c.name + "@" + std::to_string(c.line));
  return n;
}

// h-svc_rdma of bench/fixes, shortened: a field inserted in the middle.
const char *kRecvCtxt = R"(#ifndef SVC_RDMA_H
#define SVC_RDMA_H
struct svc_rdma_recv_ctxt {
	struct llist_node	rc_node;
	struct list_head	rc_list;
	u32			rc_byte_len;
};
static inline int svc_rdma_ok(void) { return 1; }
#endif
)";

TEST(StructDefs, AFieldInsertedInTheMiddleIsALayoutChange) {
  std::string patched = kRecvCtxt;
  patched.replace(patched.find("\tstruct list_head"), 0, "\tstruct ib_recv_wr\trc_recv_wr;\n");
  EXPECT_EQ(names(changed_struct_definitions(kRecvCtxt, patched)),
            std::vector<std::string>{"struct svc_rdma_recv_ctxt@3"});
}

TEST(StructDefs, CommentsAndWhiteSpaceInsideADefinitionAreNoChange) {
  std::string patched = kRecvCtxt;
  patched.replace(patched.find("\tu32"), 0, "\t/* bytes received, see svc_rdma_recvfrom() */\n\n");
  patched.replace(patched.find("rc_byte_len;"), 12, "rc_byte_len;   // total");
  EXPECT_TRUE(changed_struct_definitions(kRecvCtxt, patched).empty());
}

TEST(StructDefs, ACodeChangeOutsideEveryDefinitionIsNoChange) {
  // h-virtio_net: a static inline's body changes; no type does.
  std::string patched = kRecvCtxt;
  patched.replace(patched.find("return 1;"), 9, "return 2;");
  EXPECT_TRUE(changed_struct_definitions(kRecvCtxt, patched).empty());
}

TEST(StructDefs, AnInitializerIsNotADefinition) {
  const char *o = "static const struct ops my_ops = { .a = f, };\nstruct ops x;\n";
  const char *p = "static const struct ops my_ops = { .a = g, };\nstruct ops x;\n";
  EXPECT_TRUE(changed_struct_definitions(o, p).empty());
}

TEST(StructDefs, ARemovedDefinitionIsNoChange) {
  // h-smb2pdu removes struct create_on_disk_id, which nothing uses (code that did would no
  // longer compile).
  const char *o = "struct a { int x; };\nstruct create_on_disk_id { u64 d; };\n";
  const char *p = "struct a { int x; };\n";
  EXPECT_TRUE(changed_struct_definitions(o, p).empty());
}

TEST(StructDefs, ANewDefinitionIsNotAChange) {
  EXPECT_TRUE(changed_struct_definitions("struct a { int x; };\n", "struct a { int x; };\nstruct b { int y; };\n").empty());
}

TEST(StructDefs, UnionsAttributesAndTypedefsAreNamed) {
  const char *o = "union u { int i; long l; };\nstruct __packed p { u8 a; };\ntypedef struct { int q; } q_t;\n"
                  "struct __attribute__((aligned(8))) al { int z; };\n";
  const char *p = "union u { int i; long l; char c[16]; };\nstruct __packed p { u8 a; u8 b; };\n"
                  "typedef struct { int q; int r; } q_t;\nstruct __attribute__((aligned(8))) al { long z; };\n";
  EXPECT_EQ(names(changed_struct_definitions(o, p)),
            (std::vector<std::string>{"union u@1", "struct p@2", "typedef q_t@3", "struct al@4"}));
}

TEST(StructDefs, ANestedDefinitionChangesItsEnclosingOneToo) {
  const char *o = "struct outer {\n\tstruct inner { int a; } in;\n\tint b;\n};\n";
  const char *p = "struct outer {\n\tstruct inner { int a; int c; } in;\n\tint b;\n};\n";
  EXPECT_EQ(names(changed_struct_definitions(o, p)), (std::vector<std::string>{"struct outer@1", "struct inner@2"}));
}

TEST(StructDefs, ACommentMarkerInsideAStringIsNotAComment) {
  const char *o = "struct s { char *p; };\nconst char *x = \"/* not a comment\";\n";
  const char *p = "struct s { char *p; int n; };\nconst char *x = \"/* not a comment\";\n";
  EXPECT_EQ(names(changed_struct_definitions(o, p)), std::vector<std::string>{"struct s@1"});
}

} // namespace
} // namespace kpg::build
