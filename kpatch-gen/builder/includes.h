// SPDX-License-Identifier: GPL-2.0-only
//
// Which translation units include a header, without a full build of the kernel.
//
// A patch to include/linux/virtio_net.h changes every unit that includes it, directly or
// through other headers. A full build's .cmd files list those exactly (BuildDeps, kbuild.h),
// but a distribution kernel ships no full build, and kbuild's own dependency generation
// (gcc -M with each unit's flags) costs a preprocessor run per configured object: ~0.5 s
// each for Debian's ~10,000 cloud-amd64 objects, most of an hour on two cores. This is the
// cheap over-approximation instead: the textual #include graph of the source tree,
//   - "x.h" resolved against the including file's directory first (drivers/net/tun.c's
//     "../foo.h"), then like <x.h>;
//   - <x/y.h> through the kernel's include path: arch/x86/include, include,
//     arch/x86/include/uapi, include/uapi, and the generated directories of the prepared
//     object tree (arch/x86/include/generated/asm/mmiowb.h is `#include <asm-generic/mmiowb.h>`,
//     so a change to include/asm-generic/mmiowb.h reaches its users through it);
//   - every #include line, whatever #if it sits in (which configuration skips it is for the
//     compiler to say).
// What it misses: includes through macros (`#include TRACE_INCLUDE(TRACE_INCLUDE_FILE)` in
// include/trace/define_trace.h; the trace header is also included by name by its users, so
// they are found) and -I directories added by one Makefile (ccflags-y += -I$(srctree)/...;
// "x.h" found next to the includer covers the usual case). The builder confirms each
// candidate by compiling it: the dependency list kbuild writes for the compiled unit (fixdep,
// .<obj>.cmd) says whether it really includes the header in this configuration.
//
// Scanning Debian's 6.1 tree (43,500 .c/.h/.S files, 1.1 GB; other architectures,
// tools/, scripts/, Documentation/, samples/ skipped) takes a few seconds with a warm page
// cache; the graph is cached per (source tree, release) under the builder's cache, flock()ed,
// so the next header patch for the same kernel only reads it back.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "builder/progress.h"
#include "support/error.h"

namespace kpg::build {

class IncludeGraph {
public:
  // Scans `srctree` (and, for generated headers, `objtree`'s include/generated and
  // arch/x86/include/generated directories when `objtree` is not empty). Paths are relative
  // to the tree they are in: "include/linux/virtio_net.h", "arch/x86/include/generated/asm/mmiowb.h".
  static Expected<IncludeGraph> scan(const std::string &srctree, const std::string &objtree);

  // The text form the cache keeps (one line per file: the file, then the files it includes,
  // tab-separated) and back.
  std::string serialize() const;
  static Expected<IncludeGraph> parse(const std::string &text, const std::string &origin);

  // Every file that includes `path`, directly or transitively (not `path` itself), sorted.
  std::vector<std::string> includers(const std::string &path) const;
  // The files `path` includes directly.
  const std::vector<std::string> &includes(const std::string &path) const;
  bool contains(const std::string &path) const { return edges_.count(path) != 0; }
  size_t file_count() const { return edges_.size(); }

  // For tests and for files added by hand: `file` includes `deps` (resolved paths).
  void add(const std::string &file, std::vector<std::string> deps);

private:
  void index();
  std::map<std::string, std::vector<std::string>> edges_; // file -> files it includes
  std::map<std::string, std::vector<std::string>> users_; // file -> files including it
};

// The #include directives of one file's text, unresolved: {'"', "../foo.h"}, {'<', "linux/x.h"}.
std::vector<std::pair<char, std::string>> scan_includes(std::string_view text);

// The include graph of `srctree` for `release`, from the cache
// (CACHE_ROOT/includes/<key>.graph, key = hash of the source path, release and this format's
// version) or scanned and stored there. `cached` tells which; the cache file's lock
// serialises two builds that need the same graph.
struct CachedGraph {
  IncludeGraph graph;
  bool cached = false;
  double seconds = 0;
  std::string path;
};
Expected<CachedGraph> load_include_graph(const std::string &cache_root, const std::string &srctree,
                                         const std::string &objtree, const std::string &release, Progress &progress);

} // namespace kpg::build
