// SPDX-License-Identifier: GPL-2.0-only
//
// What kbuild knows that the builder needs: which translation units a patch affects, how to
// compile them exactly as the kernel was built, and which object (vmlinux or a module) each
// one is linked into.
//
// Affected units. A .c file the patch changes is one unit. A changed header affects every unit
// that includes it, directly or not; the sound way to know is the dependency list kbuild
// records for each object it compiled (the deps_<obj> list in .<obj>.cmd, written by fixdep
// from gcc -MMD), so header changes need the directory of a full build of this kernel (the
// lab's, or any earlier one), found next to the target vmlinux or given with --kernel-build.
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

#include "builder/patchfile.h"
#include "builder/progress.h"
#include "builder/tree.h"
#include "support/error.h"
#include "support/types.h"

namespace kpg::build {

struct Unit {
  std::string source;  // "fs/proc/cmdline.c" (relative to the source tree)
  std::string object;  // "fs/proc/cmdline.o"
  std::string why;     // "changed by the patch" / "includes include/linux/foo.h (changed)"
  std::string objname; // "vmlinux" or the module name; set after compiling
  std::string module_file; // "binfmt_misc.ko" when objname is a module
  // Why this kernel's configuration does not compile the unit ("CONFIG_N_GSM is not set",
  // kconfig.h), empty when it does. Such a unit is neither compiled nor diffed: a fix to it
  // does not concern this kernel.
  std::string not_built;
};

// Dependency lists of a full kernel build.
class BuildDeps {
public:
  static Expected<BuildDeps> load(const std::string &build_dir);
  const std::string &dir() const { return dir_; }
  bool built(const std::string &object) const { return objects_.count(object) != 0; }
  // Objects whose recorded dependencies include `path` (relative to the source tree).
  std::vector<std::string> dependents(const std::string &path) const;
  size_t object_count() const { return objects_.size(); }

private:
  std::string dir_, srctree_;
  std::set<std::string> objects_;
  std::map<std::string, std::vector<std::string>> users_; // dependency -> objects
};

// The units a set of patched files affects. Without `deps` only .c files can be handled.
Expected<std::vector<Unit>> affected_units(const std::vector<PatchedFile> &files, const BuildDeps *deps);

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

// Compiles every unit in both trees (originals are reused when up to date) with the exact
// kbuild command plus -ffunction-sections -fdata-sections; objtool and ORC generation run as
// in the real build. Fills Unit::objname/module_file from the original objects' .cmd files.
// When the original units compile and the patched ones do not, the patch is at fault: the
// result is the compiler's first error (no retry). Units with Unit::not_built are skipped.
Expected<std::optional<CompileError>> compile_units(const PreparedTree &tree, std::vector<Unit> &units, int jobs,
                                                    const std::string &logdir, Progress &progress);

// The genksyms CRCs of a compiled unit's exports in the original and the patched object tree:
// with
// CONFIG_MODVERSIONS, kbuild appends `#SYMVER name 0xCRC` to the unit's .cmd file when the
// object exports symbols. nullopt when neither file has any (no exports, or no MODVERSIONS),
// so that the diff notes the ABI as unchecked instead of warning about missing CRCs.
using SymverCrcs = std::map<std::string, u32>;
Expected<std::optional<std::pair<SymverCrcs, SymverCrcs>>>
unit_symver_crcs(const std::string &orig_objtree, const std::string &patched_objtree, const std::string &object);

} // namespace kpg::build
