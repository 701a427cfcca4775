// SPDX-License-Identifier: GPL-2.0-only
//
// What a unified diff touches, and applying it exactly.
//
// The builder reads the file list up front (GNU patch applies the patch later) to refuse
// unsupported targets, to find the affected translation units, and to restore its reusable
// patched tree afterwards; and each hunk, to judge where patch(1) put it.
//
// patch(1) is forgiving by default: it applies a hunk at an offset (the nearest place its
// lines match, searching outwards from the line its header names) and with fuzz 2 (ignoring
// up to two context lines at each end). For a live patch that is a danger: kernel/sys.c has
// "down_read(&uts_sem); memcpy(&tmp, utsname(), sizeof(tmp)); up_read(&uts_sem); if
// (copy_to_user(...)) return -EFAULT;" in both newuname() and uname(), so a hunk with three
// lines of context for one of them, applied to a release where the lines moved, patches
// whichever is nearer -- and the module then fixes the wrong function, silently. So
// apply_patch() is exact unless told otherwise: no fuzz, and a hunk that does not match at
// the line its header names is applied at an offset only when its lines match in exactly one
// place of the file. Every hunk that moved or needed fuzz is reported.
#pragma once
#include <string>
#include <vector>

#include "support/error.h"
#include "support/types.h"

namespace kpg::build {

struct Hunk {
  std::string header;                // "@@ -5,7 +5,8 @@ static int foo(void)"
  u64 old_start = 0, old_count = 0, new_start = 0, new_count = 0;
  std::vector<std::string> old_lines; // context and removed lines in order: what must match
  u32 leading_context = 0;            // context lines before the first change
  u32 trailing_context = 0;           // context lines after the last change
};

struct PatchedFile {
  std::string path;     // relative to the tree root, after stripping one component (-p1)
  bool created = false; // "--- /dev/null"
  bool deleted = false; // "+++ /dev/null"
  std::vector<Hunk> hunks;
};

struct PatchInfo {
  std::string file; // the .patch path
  std::vector<PatchedFile> files;
};

// Parses `path` (git format-patch, diff -u, quilt output). Errors name the patch and line.
Expected<PatchInfo> parse_patch(const std::string &path);

// A hunk that patch(1) did not apply exactly where its header says, or only with fuzz.
struct HunkPlacement {
  std::string patch; // the .patch file
  std::string file;  // the file it patches
  u32 hunk = 0;      // 1-based within the file's section, as patch(1) numbers them
  std::string header;
  u64 line = 0;      // the line where it applied
  i64 offset = 0;    // lines away from where its header says
  u32 fuzz = 0;      // context lines ignored at each end
};

// Applies `patch` to the tree at `dir` (-p1) with GNU patch, allowing `fuzz` context lines to
// be ignored (0: exact). A hunk that does not apply, or that applies only at an offset or
// with fuzz while the lines it matched occur in more than one place of the file (patch would
// pick the nearest: maybe the wrong function), is an error naming the patch, the file and the
// hunk; nothing is changed then. Otherwise the patch is applied and the hunks that moved or
// needed fuzz are returned. patch's output goes to `log`.
Expected<std::vector<HunkPlacement>> apply_patch(const std::string &dir, const PatchInfo &patch, u32 fuzz,
                                                 const std::string &log);

// Why a file cannot be live patched through this builder, or "" if it can.
// e.g. "arch/x86/entry/entry_64.S: assembly is not compiled with ftrace entries".
std::string unsupported_reason(const std::string &path);

} // namespace kpg::build
