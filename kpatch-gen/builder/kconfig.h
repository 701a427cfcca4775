// SPDX-License-Identifier: GPL-2.0-only
//
// Whether this kernel's configuration compiles a source file at all, read from kbuild's own
// Makefiles and the .config, without a full build. A distribution kernel leaves much of the
// tree out: Debian's cloud flavour has `# CONFIG_N_GSM is not set`, and no CONFIG_USB line at
// all (its parent menu is off), so a stable fix to drivers/tty/n_gsm.c or
// drivers/usb/core/usb.c does not concern it. Compiling such a file anyway (kbuild's
// single-object rule does not ask the config) yields an object that matches nothing in the
// running kernel and a confusing refusal; the builder reports "not built in this kernel
// (CONFIG_N_GSM is not set)" instead.
//
// The reading is deliberately one-sided: a file is declared not built only when every line
// that could build it is conditional on an option that is off (following composite objects,
// `usbcore-y += usb.o` + `obj-$(CONFIG_USB) += usbcore.o`, and parent directories,
// `obj-$(CONFIG_USB) += core/` in drivers/usb/Makefile). Anything the reader does not
// understand (ifeq blocks, $(subst ...), a Makefile that never names the file) counts as
// "built", and the file is compiled as before.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/error.h"

namespace kpg::build {

class KernelConfig {
public:
  static Expected<KernelConfig> load(const std::string &path);
  // "y", "m", a value, or "" for `# CONFIG_X is not set` and options the file does not list.
  std::string value(const std::string &option) const;
  bool enabled(const std::string &option) const { return !value(option).empty() && value(option) != "n"; }

private:
  std::map<std::string, std::string> values_;
};

struct NotBuilt {
  std::string option; // "CONFIG_N_GSM": the first option that is off on the way
  std::string where;  // "drivers/tty/Makefile: obj-$(CONFIG_N_GSM) += n_gsm.o"
};

// `source` (relative to `srctree`, e.g. "drivers/tty/n_gsm.c"): why this configuration does
// not compile it, or nullopt when it does or the Makefiles do not say for sure.
std::optional<NotBuilt> not_built_reason(const std::string &srctree, const std::string &source,
                                         const KernelConfig &config);

// A .c file that its directory's kbuild file never names as an object, and that a built unit
// of the same directory #includes: arch/x86/mm/ident_map.c, which arch/x86/mm/init_64.c
// includes at its line 61 (kbuild has no ident_map.o: compiled alone it fails with "unknown
// type name 'pmd_t'"). Without a full build's dependency lists this textual check is the
// cheap and exact answer: the includer is the unit to rebuild. Returns the includers (built
// in this configuration, sorted by name), each with the line that includes the file; empty
// when the file is an object of its own or nothing in its directory includes it.
struct Includer {
  std::string source; // "arch/x86/mm/init_64.c"
  std::string rule;   // "arch/x86/mm/init_64.c:61: #include \"ident_map.c\""
};
std::vector<Includer> including_units(const std::string &srctree, const std::string &source, const KernelConfig &config);

// The same reading with its third answer kept apart: Built when a kbuild list that is on
// names the file (and every parent directory is descended into), NotBuilt as above, Unknown
// when the Makefiles do not say plainly (no mention, $(addprefix ...), ifeq blocks). The
// header path (builder/includes.h) compiles Built and Unknown units and lets kbuild confirm.
enum class BuildState { Built, NotBuilt, Unknown };
BuildState build_state(const std::string &srctree, const std::string &source, const KernelConfig &config,
                       NotBuilt *why = nullptr);

} // namespace kpg::build
