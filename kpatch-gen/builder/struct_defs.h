// SPDX-License-Identifier: GPL-2.0-only
//
// Struct and union definitions a header change alters.
//
// A live patch cannot change the layout of a type whose objects already exist: the running
// kernel allocated them with the old layout, and patched code would read them at the new
// offsets. Example (bench/fixes h-svc_rdma): 6.1.192 inserts a field in the middle of struct
// svc_rdma_recv_ctxt (include/linux/sunrpc/svc_rdma.h); contexts kept on the transport's free
// list since before the patch have every later field where the old layout put it. Nothing in
// the compiled code of the unit shows this (its functions change, but so they do for a safe
// fix), so the builder compares the definitions themselves: a struct or union whose body
// differs between the original and the patched header, comments and white space aside, is a
// layout change. This is conservative: a change that keeps the layout (renaming a field) is
// refused too, and says so.
#pragma once
#include <string>
#include <vector>

namespace kpg::build {

struct StructChange {
  std::string name;  // "struct svc_rdma_recv_ctxt", "union bpf_attr", "typedef foo_t"
  unsigned line = 0; // first line of its definition in the original (0: new in the patched file)
};

// Named struct/union definitions (`struct NAME {...}`, and anonymous ones named by a
// `typedef ... NAME;`) whose bodies differ between `orig` and `patched` (file contents), in
// the original's order. Those only in `patched` are new types and those only in `orig` are
// removed ones (code using them would not compile): neither is a change.
std::vector<StructChange> changed_struct_definitions(const std::string &orig, const std::string &patched);

} // namespace kpg::build
