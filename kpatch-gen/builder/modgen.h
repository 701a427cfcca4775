// SPDX-License-Identifier: GPL-2.0-only
//
// The live patch module: C source generated from templates/patch-module.c.in (static
// klp_func / klp_object / klp_patch tables, as in samples/livepatch), linked by kbuild with
// the diff objects against the prepared tree (so modpost writes the target's CRCs).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "builder/progress.h"
#include "builder/tree.h"
#include "diff/klp_format.h"
#include "support/error.h"

namespace kpg::build {

struct ModuleFunc {
  std::string old_name;
  u64 sympos = 0;
  std::string alias; // "__kpg_new.<obj>.<name>.<sympos>"
  std::string unit;  // source file it comes from (for the manifest)
};

struct ModuleObject {
  std::string name; // "vmlinux" or the module name
  std::vector<ModuleFunc> funcs;
  std::map<diff::CallbackKind, std::string> callbacks; // kind -> alias
};

struct ModuleSpec {
  std::string name;
  bool replace = true;
  std::string description;
  std::vector<std::string> cves;
  std::string target_release, target_build_id;
  std::vector<ModuleObject> objects; // vmlinux first, then modules by name
  std::vector<std::string> diff_objects;
  std::vector<std::string> import_ns; // symbol namespaces to import, sorted (imported_namespaces())
};

// Module names must be valid for kbuild and fit MODULE_NAME_LEN (56 with the NUL): letters,
// digits and '_' ('-' would be turned into '_' by kbuild anyway, so we do it up front and the
// .ko file, the module and /sys/kernel/livepatch/<name> all have the same name).
std::string sanitize_module_name(const std::string &wanted);

// The generated C source (exposed for tests).
Expected<std::string> render_module_source(const ModuleSpec &spec, const std::string &template_text);

// Generates, builds and returns the path of the linked (not yet post-linked) .ko.
Expected<std::string> build_module(const PreparedTree &tree, const ModuleSpec &spec, const std::string &templates_dir,
                                   int jobs, Progress &progress);

} // namespace kpg::build
