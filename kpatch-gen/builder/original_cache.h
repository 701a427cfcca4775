// SPDX-License-Identifier: GPL-2.0-only
//
// Compiled original units, cached: for a given target the original side of a unit never
// changes, so a second patch to fs/proc/meminfo.c needs only its patched side compiled.
//
// A stale original would make a wrong diff (a change the patch does not make, or one it makes
// hidden), which is far worse than a slow build, so an entry is used only when everything that
// decides the object's bytes is unchanged:
//  - the key, known before compiling: the prepared tree's key (source path and version,
//    .config, compiler version line, release: tree.h), the make variables (KCFLAGS,
//    KERNELRELEASE, CC), the assembler's version line, the unit's object path, and the
//    contents of the kbuild files that make its command line (the top Makefile,
//    arch/x86/Makefile, scripts/Makefile.* and Kbuild.include, and the Makefile and Kbuild of
//    every directory from the top down to the unit's: fs/Makefile and fs/proc/Makefile for
//    fs/proc/meminfo.o, where CFLAGS_meminfo.o or a subdir-ccflags-y would be);
//  - checked on lookup, from what kbuild recorded when it compiled the object (its .cmd
//    file): the contents of the source, of every header in its dependency list (generated
//    ones in the object tree too: include/generated/autoconf.h) and of the other files it
//    names as prerequisites (tools/objtool/objtool, which rewrites the object). The
//    include/config/ files of the list are hashed too (absent or empty: they change with the
//    .config, which is in the key anyway).
// An entry is $KPATCH_GEN_CACHE/originals/<key>.{o,cmd,entry}: the object, kbuild's .cmd
// (the builder reads the unit's module from it, and the genksyms CRCs kbuild appends to it),
// and the list of files with their SHA-256 plus the hashes of the other two. The entry is
// written last, each file through a temporary file and rename(2), under a flock; a reader
// needs no lock: a half-replaced entry shows as a hash mismatch, which is a miss. The cache is
// bounded (1 GiB by default): after each store the least recently used entries go.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "support/error.h"
#include "support/types.h"

namespace kpg::build {

class PreparedTree;

// What decides an original object's bytes that is known before compiling it.
struct OriginalKeyInputs {
  std::string tree_key;               // PreparedTree::key()
  std::vector<std::string> make_vars; // PreparedTree::make_vars()
  std::string toolchain;              // the compiler's and the assembler's version lines
  std::string object;                 // "fs/proc/meminfo.o"
  // The kbuild files of the unit (kbuild_files_of) with the SHA-256 of their contents
  // (content_hash).
  std::vector<std::pair<std::string, std::string>> kbuild_files;
};
// SHA-256 hex of all of it, each field named and length-delimited.
std::string original_key(const OriginalKeyInputs &in);

// The kbuild files, relative to the source tree, whose contents decide the command line of
// `object`: Makefile, arch/x86/Makefile, scripts/Kbuild.include, and for "fs/proc/meminfo.o"
// fs/Makefile, fs/Kbuild, fs/proc/Makefile, fs/proc/Kbuild (scripts/Makefile.* are added by
// the caller from the tree: their set depends on the kernel version).
std::vector<std::string> kbuild_files_of(const std::string &object);

// The files kbuild recorded as what `object` was made from in its .cmd text: source_<obj>,
// every entry of deps_<obj> (the $(wildcard ...) ones too) and "<obj>: $(wildcard FILE)"
// lines. Absolute paths; relative ones are in the object tree `objtree`.
std::vector<std::string> cmd_prerequisites(const std::string &cmd_text, const std::string &objtree);

// SHA-256 hex of a file's contents; "absent" when it does not exist or cannot be read.
std::string content_hash(const std::string &path);

class OriginalCache {
public:
  static constexpr u64 kDefaultLimit = u64(1) << 30;
  // `dir`: $KPATCH_GEN_CACHE/originals. `base`: the tree's part of every key (tree_key,
  // make_vars, toolchain); `srctree` and `objtree`: the pristine source and the original
  // object tree (PreparedTree::kernel_src(), orig_obj()).
  OriginalCache(std::string dir, OriginalKeyInputs base, std::string srctree, std::string objtree,
                u64 limit_bytes = kDefaultLimit);
  // The cache for `tree`'s originals under `dir`.
  static OriginalCache for_tree(std::string dir, const PreparedTree &tree, std::string toolchain);

  // The key of `object` in this tree (reads its kbuild files).
  std::string key(const std::string &object) const;

  struct Lookup {
    bool hit = false;
    std::string why_not; // a miss: "no entry", "include/linux/mm.h changed", ...
  };
  // On a hit, the cached object and .cmd are in the tree's orig-obj (written only when they
  // differ from what is there).
  Expected<Lookup> restore(const std::string &key, const std::string &object) const;
  // Stores orig-obj's `object` and its .cmd, just compiled by kbuild, under `key`.
  Expected<void> store(const std::string &key, const std::string &object) const;

private:
  // Removes the least recently used entries (but `keep`) while the total is over the limit.
  void evict(const std::string &keep) const;
  std::string dir_;
  OriginalKeyInputs base_;
  std::string srctree_, objtree_;
  std::vector<std::string> scripts_makefiles_;
  u64 limit_;
};

} // namespace kpg::build
