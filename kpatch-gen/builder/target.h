// SPDX-License-Identifier: GPL-2.0-only
//
// The kernel a live patch is for, as the builder reads it: once per build, whatever the
// number of units. Its parts are what every unit's diff and the checks need:
//  - vmlinux's release ("Linux version" banner) and GNU build ID (recorded in the module);
//  - Module.symvers (what is exported, by whom, with which CRC): every diff and the verify
//    stage;
//  - the special-section entry sizes from vmlinux's DWARF (a Debian debug vmlinux is 600 MB:
//    reading it per unit would cost more than the diff);
//  - the configuration (.config), to tell which changed files this kernel does not build;
//  - the running objects the units belong to (TargetObject): vmlinux, or a module's .ko found
//    under --target-modules (its symbols read from the unstripped copy under
//    --target-debug-modules when there is one: builder/modules.h), each symbol table read on
//    first use and shared by the diffs and the check stage.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/debian.h"
#include "builder/kbuild.h"
#include "builder/kconfig.h"
#include "diff/target.h"
#include "support/error.h"

namespace kpg::build {

// One running object a patched unit belongs to (a klp_object).
struct TargetObject {
  std::string name;            // "vmlinux" or the module name ("binfmt_misc")
  std::string path;            // the ELF whose symbol table stands for it: vmlinux, the module's .ko
                               // or its unstripped copy
  std::string shipped;         // a module's .ko as the kernel loads it, when `path` is another copy
  std::string note;            // how a module's symbols are resolved (builder/modules.h), for the output
  diff::TargetSymbols symbols; // read once
};

struct Target {
  std::string kernel_src;   // pristine source (--kernel-src, or Debian's linux-source)
  std::string vmlinux;      // --target-vmlinux, or Debian's -dbg vmlinux
  std::string modules_dir;  // where module .ko files are searched (may be empty)
  std::string debug_modules_dir; // unstripped copies of the modules (--target-debug-modules, Debian's -dbg)
  std::string config;       // .config
  std::string symvers_path; // Module.symvers
  std::string release;      // "6.1.192", "6.1.0-57-cloud-amd64"
  std::string build_id;     // hex, empty when vmlinux has none
  std::optional<DebianKernel> debian; // --debian-kernel: where everything came from
  diff::Symvers symvers;
  KernelConfig kconfig; // `config`, read
  std::map<std::string, u64> struct_sizes; // special-section structs from vmlinux's DWARF; empty: built-in sizes
  std::optional<BuildDeps> deps;           // a full build's dependency lists (header changes)

  // The running object `objname` ("vmlinux", or a module whose file is `module_file`), read on
  // first use. An error names the module and what to pass when its .ko cannot be found.
  Expected<const TargetObject *> object(const std::string &objname, const std::string &module_file);
  // What one diff against `o` needs, pointing into this Target (which must outlive it).
  diff::TargetKernel diff_view(const TargetObject &o) const;
  // Whether kbuild runs objtool on the patch module's linked object: scripts/Makefile.lib's
  // delay-objtool, `$(or $(CONFIG_LTO_CLANG),$(CONFIG_X86_KERNEL_IBT))`, the same in 6.1 and
  // 6.12 (on for the 6.12 lab and Debian's 6.12 cloud kernel, off for Debian's 6.1).
  bool objtool_at_link() const { return kconfig.enabled("CONFIG_X86_KERNEL_IBT") || kconfig.enabled("CONFIG_LTO_CLANG"); }

private:
  std::map<std::string, std::unique_ptr<TargetObject>> objects_;
};

} // namespace kpg::build
