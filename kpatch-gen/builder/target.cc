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
  auto o = std::make_unique<TargetObject>();
  o->name = objname;
  if (objname == "vmlinux") {
    auto syms = diff::TargetSymbols::load(vmlinux);
    if (!syms)
      return std::move(syms).take_error();
    o->path = vmlinux;
    o->symbols = std::move(*syms);
  } else {
    auto ko = find_target_module({modules_dir, deps ? deps->dir() : ""}, {debug_modules_dir}, module_file);
    if (!ko)
      return make_error(ko.error().loc, fmt::format("the patch changes module {}: {}", objname, ko.error().message));
    o->path = ko->symbols;
    o->shipped = ko->shipped;
    o->note = ko->note;
    o->symbols = std::move(ko->table);
  }
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
