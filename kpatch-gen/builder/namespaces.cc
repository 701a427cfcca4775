// SPDX-License-Identifier: GPL-2.0-only
#include "builder/namespaces.h"

#include <set>

#include "elf/reader.h"

namespace kpg::build {

Expected<std::vector<std::string>> imported_namespaces(const std::vector<std::string> &diff_objects,
                                                       const diff::Symvers &symvers) {
  std::set<std::string> ns;
  for (const std::string &path : diff_objects) {
    auto obj = elf::read_object(path);
    if (!obj)
      return std::move(obj).take_error();
    for (const elf::Symbol &s : obj->symbols)
      if (s.is_undefined() && !s.name.empty())
        if (const diff::SymversEntry *e = symvers.find(s.name); e && !e->ns.empty())
          ns.insert(e->ns);
  }
  return std::vector<std::string>(ns.begin(), ns.end());
}

} // namespace kpg::build
