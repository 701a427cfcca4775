// SPDX-License-Identifier: GPL-2.0-only
//
// What a unified diff touches, without applying it (GNU patch applies it later): the builder
// needs the file list up front to refuse unsupported targets, to find the affected
// translation units, and to restore its reusable patched tree afterwards.
#pragma once
#include <string>
#include <vector>

#include "support/error.h"

namespace kpg::build {

struct PatchedFile {
  std::string path;     // relative to the tree root, after stripping one component (-p1)
  bool created = false; // "--- /dev/null"
  bool deleted = false; // "+++ /dev/null"
};

struct PatchInfo {
  std::string file; // the .patch path
  std::vector<PatchedFile> files;
};

// Parses `path` (git format-patch, diff -u, quilt output). Errors name the patch and line.
Expected<PatchInfo> parse_patch(const std::string &path);

// Why a file cannot be live patched through this builder, or "" if it can.
// e.g. "arch/x86/entry/entry_64.S: assembly is not compiled with ftrace entries".
std::string unsupported_reason(const std::string &path);

} // namespace kpg::build
