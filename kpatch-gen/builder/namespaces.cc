// SPDX-License-Identifier: GPL-2.0-only
#include "builder/namespaces.h"

#include <set>

namespace kpg::build {

std::vector<std::string> imported_namespaces(const std::vector<std::string> &undefined, const diff::Symvers &symvers) {
  std::set<std::string> ns;
  for (const std::string &name : undefined)
    if (const diff::SymversEntry *e = symvers.find(name); e && !e->ns.empty())
      ns.insert(e->ns);
  return std::vector<std::string>(ns.begin(), ns.end());
}

} // namespace kpg::build
