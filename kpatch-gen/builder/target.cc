// SPDX-License-Identifier: GPL-2.0-only
#include "builder/target.h"

#include "builder/modules.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

namespace fs = std::filesystem;

namespace kpg::build {

Expected<const TargetObject *> Target::object(const std::string &objname, const std::string &module_file) {
  if (auto it = objects_.find(objname); it != objects_.end())
    return it->second.get();
  std::string path = vmlinux;
  if (objname != "vmlinux") {
    auto ko = find_module_file({modules_dir, deps ? deps->dir() : ""}, module_file);
    if (!ko)
      return make_error(Location(module_file),
                        fmt::format("the patch changes module {}: pass --target-modules with the target's {}", objname,
                                    module_file));
    path = *ko;
  }
  auto syms = diff::TargetSymbols::load(path);
  if (!syms)
    return std::move(syms).take_error();
  auto o = std::make_unique<TargetObject>(TargetObject{objname, path, std::move(*syms)});
  const TargetObject *p = o.get();
  objects_.emplace(objname, std::move(o));
  return p;
}

diff::TargetKernel Target::diff_view(const TargetObject &o) const {
  diff::TargetKernel k;
  k.symbols = &o.symbols;
  k.symvers = &symvers;
  // Read from vmlinux once; without them (no DWARF there) the diff tries the object's own file.
  k.struct_sizes = struct_sizes.empty() ? nullptr : &struct_sizes;
  return k;
}

} // namespace kpg::build
