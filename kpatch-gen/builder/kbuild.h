// SPDX-License-Identifier: GPL-2.0-only
//
// What kbuild knows that the builder needs: which translation units a patch affects, how to
// compile them exactly as the kernel was built, and which object (vmlinux or a module) each
// one is linked into.
//
// Affected units. A .c file the patch changes is one unit. A changed header affects every unit
// that includes it, directly or not. With a full build of this kernel (the lab's, found next
// to the target vmlinux, or --kernel-build) the dependency lists kbuild recorded for each
// object it compiled (the deps_<obj> list in .<obj>.cmd, written by fixdep from gcc -MMD) say
// exactly which. A distribution kernel ships none: the units are then the textual includers
// of the header (builder/includes.h) that this configuration may build (kconfig.h), each
// compiled and kept only when the dependency list of its compiled original names the header
// (Unit::confirm). A header with more such units than HeaderSource::limit is refused: with
// include/linux/sched.h (thousands of units) the rebuild alone would take hours.
//
// Membership. kbuild compiles an object that goes into module M with -DMODULE
// -DKBUILD_MODNAME='"M"' (for composite modules too: every fs/xfs/*.o gets xfs), and an
// object of vmlinux without -DMODULE. The builder reads that back from the .cmd file of the
// original object it just compiled: no guessing from Makefiles.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "builder/includes.h"
#include "builder/kconfig.h"
#include "builder/patchfile.h"
#include "builder/progress.h"
#include "builder/tree.h"
#include "support/error.h"
#include "support/types.h"

namespace kpg::build {

class OriginalCache;

// Unit::why of a unit whose own .c the patch changes.
inline constexpr const char *kChangedByPatch = "changed by the patch";

struct Unit {
  // A unit with its source, object and reason; the rest is set as the build learns it.
  static Unit of(std::string source, std::string object, std::string why) {
    Unit u;
    u.source = std::move(source);
    u.object = std::move(object);
    u.why = std::move(why);
    return u;
  }
  // Its own .c is changed (not a unit that only includes a changed file).
  bool changed_by_patch() const { return why == kChangedByPatch; }

  std::string source;  // "fs/proc/cmdline.c" (relative to the source tree)
  std::string object;  // "fs/proc/cmdline.o"
  std::string why;     // kChangedByPatch / "includes include/linux/foo.h (changed)"
  std::string objname; // "vmlinux" or the module name; set after compiling
  std::string module_file; // "binfmt_misc.ko" when objname is a module
  // Why this kernel's configuration does not compile the unit ("CONFIG_N_GSM is not set",
  // kconfig.h), empty when it does. Such a unit is neither compiled nor diffed: a fix to it
  // does not concern this kernel.
  std::string not_built;
  // A .c file kbuild never compiles alone because this unit #includes it
  // (arch/x86/mm/ident_map.c in arch/x86/mm/init_64.c): that file, and the rule that said so
  // (a full build's dependency list, or the #include line found in the directory's sources).
  std::string part_of;
  std::string part_rule;
  // The changed header this unit was found through by the include graph, not by a full
  // build's lists: compile_units confirms that the compiled unit really includes it and drops
  // the unit (Unit::not_built) when it does not or when kbuild cannot compile it alone.
  std::string confirm;
  // The original object came from the cache of compiled originals (original_cache.h): only
  // the patched side was compiled.
  bool original_cached = false;
  // The patched side was compiled by running the original's recorded kbuild command in the
  // patched tree, without make (compile_units, when the original came from the cache).
  bool patched_by_recorded_command = false;
};

// Header changes without a full build: the include graph of the source, the configuration,
// and the most units one header may bring in.
struct HeaderSource {
  const IncludeGraph *graph = nullptr;
  std::string srctree;
  const KernelConfig *config = nullptr;
  size_t limit = 200;
};

// What a changed header brought in, for the report ("include/linux/virtio_net.h: 14 units
// include it, 9 are in this kernel, 3 changed: tun.o, tap.o, virtio_net.o"). `includers` and
// `not_built` come from the graph and the Makefiles; the rest is known after compiling and
// diffing (build.cc).
struct HeaderImpact {
  std::string header;
  size_t includers = 0;  // units of the tree that include it, directly or not
  size_t not_built = 0;  // of those, the ones this configuration does not compile (Makefiles)
  size_t candidates = 0; // the others: compiled to confirm
  bool from_full_build = false;
  std::vector<std::string> objects; // the units it brought in ("drivers/net/tun.o"), sorted
};

// Dependency lists of a full kernel build.
//
// Reading them is the largest fixed cost of a warm build (the lab's 1131 .o.cmd files are
// 74 MB of text; a distribution build has 20-30 times as many), and they change only when
// the build directory is rebuilt. load_cached() keeps the parsed lists in one file per build
// directory under `cache_dir` ($KPATCH_GEN_CACHE/deps/<hash of the path>.deps), valid while
// the fingerprint of the .o.cmd files is the same: path, inode, size, mtime and ctime of each
// (a stat() walk, ~30 ms for the lab), so any rewritten, added, removed or replaced .cmd file
// means a new scan. At most 16 such files are kept, the least recently used removed.
class BuildDeps {
public:
  static Expected<BuildDeps> load(const std::string &build_dir);
  static Expected<BuildDeps> load_cached(const std::string &build_dir, const std::string &cache_dir);
  // The fingerprint load_cached() compares (sha256 hex of the .o.cmd files' stat data).
  static Expected<std::string> fingerprint(const std::string &build_dir);
  // The cache file's text for these lists with `fingerprint`, and back (nullopt: not such a
  // file, or made for another fingerprint).
  std::string serialize(const std::string &fingerprint) const;
  static std::optional<BuildDeps> parse(const std::string &text, const std::string &fingerprint);
  // The lists came from load_cached()'s file, not from a scan.
  bool from_cache() const { return from_cache_; }
  const std::string &dir() const { return dir_; }
  bool built(const std::string &object) const { return objects_.count(object) != 0; }
  // Objects whose recorded dependencies include `path` (relative to the source tree).
  std::vector<std::string> dependents(const std::string &path) const;
  size_t object_count() const { return objects_.size(); }

private:
  std::string dir_, srctree_;
  bool from_cache_ = false;
  std::set<std::string> objects_;
  std::map<std::string, std::vector<std::string>> users_; // dependency -> objects
};

// kbuild's record of how it built `object` (a path relative to `objtree`, the O= directory):
// the command line, the source and the dependencies, in fs/proc/.cmdline.o.cmd.
std::string cmd_file(const std::string &objtree, const std::string &object);

// The units a set of patched files affects. Headers need `deps` (a full build) or `headers`
// (the include graph); without either only .c files can be handled. One HeaderImpact per
// changed header goes to `impacts` when it is not null.
Expected<std::vector<Unit>> affected_units(const std::vector<PatchedFile> &files, const BuildDeps *deps,
                                           const HeaderSource *headers = nullptr,
                                           std::vector<HeaderImpact> *impacts = nullptr);

// The units of the tree that include `header`, from the include graph: .c files that
// include it directly or through other files, except a .c that is itself #included by
// another file and not named by a Makefile (kernel/sched/rt.c, included by build_policy.c:
// its includer is the unit). Those this configuration does not compile are counted in
// `impact.not_built`; more candidates than `src.limit` is an error naming the count.
Expected<std::vector<Unit>> header_units(const std::string &header, const HeaderSource &src, HeaderImpact &impact);

// The compiler's first error in a failed build's log, with its file relative to the source
// tree: what a user needs to fix the patch, instead of make's last lines.
struct CompileError {
  std::string object;  // the unit whose compilation failed ("fs/proc/cmdline.o"), when make says
  std::string file;    // "fs/proc/cmdline.c" (or the header the error is in)
  u32 line = 0, column = 0;
  std::string message; // "fatal error: linux/nope.h: No such file or directory"
  std::string context; // the lines gcc printed with it (included-from chain, source, caret)
  std::string log;     // the whole log
};
// Parses `log_text` (make's and gcc's output); `srctree` prefixes are removed from paths.
std::optional<CompileError> first_compile_error(const std::string &log_text, const std::string &srctree);

// A warning in a compile that succeeded. A kernel builds without -Werror, so a patch that
// compiles may still carry what the compiler saw wrong with it: an unused variable left by a
// backport, a "may be used uninitialized" the fix introduced, objtool's "unreachable
// instruction" after a changed noreturn call. The author of a live patch wants to see them,
// not find them in a log.
struct CompileWarning {
  std::string file; // "kernel/sys.c" (gcc) or "kernel/sys.o" (objtool)
  u32 line = 0, column = 0; // 0 for objtool's, which name a function offset instead
  std::string message; // "unused variable 'x' [-Wunused-variable]", "objtool: f()+0x1e: ..."
  std::string str() const; // "kernel/sys.c:1385:9: unused variable 'x' [-Wunused-variable]"
};
// gcc's "FILE:LINE:COL: warning: MSG" and objtool's "OBJECT: warning: objtool: MSG" lines of
// `log_text` in order, each once (make may print a header's warning for every unit that
// includes it); `srctree` prefixes are removed from paths.
std::vector<CompileWarning> compile_warnings(const std::string &log_text, const std::string &srctree);

// Compiles every unit in both trees (originals are reused when up to date) with the exact
// kbuild command plus -ffunction-sections -fdata-sections; objtool and ORC generation run as
// in the real build. Fills Unit::objname/module_file from the original objects' .cmd files.
// When the original units compile and the patched ones do not, the patch is at fault: the
// result is the compiler's first error (no retry). Units with Unit::not_built are skipped.
// With `cache`, each unit's original is looked up first (builder/original_cache.h): the
// original tree's make runs only for the misses (not at all when every original is cached),
// and the originals it compiled are stored; when every original is cached, the patched side
// runs the originals' recorded kbuild commands in the patched tree without make where they
// allow it (Unit::patched_by_recorded_command). Units found through the include graph
// (Unit::confirm) are always compiled by make.
Expected<std::optional<CompileError>> compile_units(const PreparedTree &tree, std::vector<Unit> &units, int jobs,
                                                    const std::string &logdir, Progress &progress,
                                                    const OriginalCache *cache = nullptr);

// The genksyms CRCs of a compiled unit's exports in the original and the patched object tree:
// with
// CONFIG_MODVERSIONS, kbuild appends `#SYMVER name 0xCRC` to the unit's .cmd file when the
// object exports symbols. nullopt when neither file has any (no exports, or no MODVERSIONS),
// so that the diff notes the ABI as unchecked instead of warning about missing CRCs.
using SymverCrcs = std::map<std::string, u32>;
Expected<std::optional<std::pair<SymverCrcs, SymverCrcs>>>
unit_symver_crcs(const std::string &orig_objtree, const std::string &patched_objtree, const std::string &object);

} // namespace kpg::build
