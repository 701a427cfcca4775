// SPDX-License-Identifier: GPL-2.0-only
//
// The prepared kernel trees the builder compiles in, cached per (source, config, compiler).
//
// Layout of a cache entry ${KPATCH_GEN_CACHE:-~/.cache/kpatch-gen}/prep/<key>/:
//   orig-obj/       O= directory over the user's (never modified) source tree: .config,
//                   kbuild's prepare/modules_prepare outputs (generated headers, objtool,
//                   modpost), the target's Module.symvers, and the original objects compiled
//                   with -ffunction-sections -fdata-sections (reused by later patches);
//   patched-src/    a hard-link copy of the source tree; `patch` replaces the files it
//                   changes with new ones (breaking the link), and the builder restores them
//                   afterwards, so the copy costs nothing after the first build;
//   patched-obj/    O= directory over patched-src (a copy of the prepared orig-obj);
//   include/        kpatch-gen.h (and kpatch-macros.h, kpatch-syscall.h) for patch authors;
//   module/         where the live patch module is linked (a fixed path, so that debug
//                   info and build IDs do not depend on a temporary directory name);
//   lock            flock()ed for the whole build: one build per cache entry at a time;
//   dirty           files of patched-src changed by the current build (restored at start
//                   if a previous build died);
//   complete        written last by prepare(): a tree without it is rebuilt.
// The key hashes the source path and version, the .config contents, the compiler's version
// line and this layout's version, so any of them changing gives a new, independent entry.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "builder/patchfile.h"
#include "builder/progress.h"
#include "support/error.h"
#include "support/file.h"

namespace kpg::build {

struct TreeInputs {
  std::string kernel_src;    // pristine source tree
  std::string config;        // .config to build with
  std::string symvers;       // target Module.symvers (copied into orig-obj for modpost)
  std::string cache_root;
  std::string templates_dir; // where kpatch-gen.h comes from
  // KERNELRELEASE of the target kernel ("6.1.192", "6.1.0-27-cloud-amd64"): every make runs
  // with it, so UTS_RELEASE and the module's vermagic are the target's whatever
  // setlocalversion would say about the tree (a git checkout with a patch applied is
  // "-dirty").
  std::string release;
  // The C compiler kbuild runs ("gcc", or "gcc-12" for Debian's kernels: the first word of
  // CONFIG_CC_VERSION_TEXT), so that the config's compiler text is reproduced exactly.
  std::string cc = "gcc";
  int jobs = 2;
};

class PreparedTree {
public:
  // Opens (preparing if needed) the cache entry for these inputs and locks it.
  static Expected<PreparedTree> open(const TreeInputs &in, Progress &progress);
  PreparedTree(PreparedTree &&o) noexcept = default;
  PreparedTree &operator=(PreparedTree &&) = delete;
  ~PreparedTree() = default;

  const std::string &dir() const { return dir_; }
  std::string orig_obj() const { return dir_ + "/orig-obj"; }
  std::string patched_obj() const { return dir_ + "/patched-obj"; }
  std::string patched_src() const { return dir_ + "/patched-src"; }
  std::string module_dir() const { return dir_ + "/module"; }
  std::string include_dir() const { return dir_ + "/include"; }
  const std::string &kernel_src() const { return src_; }
  const std::string &key() const { return key_; }
  bool was_cached() const { return cached_; }
  // KCFLAGS for every compile in this tree (same for prepare, originals and patched, so that
  // kbuild never considers generated files stale).
  std::string kcflags() const;
  // Compiler identity line ("gcc (Debian 12.2.0-14+deb12u1) 12.2.0").
  const std::string &compiler() const { return compiler_; }
  const std::string &release() const { return release_; }
  // Arguments every make in this tree gets: KCFLAGS and KERNELRELEASE.
  std::vector<std::string> make_vars() const;

  // Applies the patches, in order, to patched-src (after restoring whatever a previous build
  // left), exactly unless `fuzz` > 0 (apply_patch). `files` are every file they touch (the
  // dirty list). Returns the hunks that applied at an offset or with fuzz; on an error, the
  // copy is pristine again.
  Expected<std::vector<HunkPlacement>> apply_patches(const std::vector<PatchInfo> &patches,
                                                     const std::vector<std::string> &files, u32 fuzz);
  // Puts every file the last apply changed back to the pristine version and forgets the
  // patched objects compiled from them.
  Expected<void> restore();

private:
  PreparedTree() = default;
  Expected<void> prepare(const TreeInputs &in, Progress &progress);
  Expected<void> restore_from_dirty_list();

  std::string dir_, src_, key_, compiler_, release_, cc_;
  std::optional<FileLock> lock_; // held for the whole build
  bool cached_ = false;
};

} // namespace kpg::build
