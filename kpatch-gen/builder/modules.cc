// SPDX-License-Identifier: GPL-2.0-only
#include "builder/modules.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

#include "diff/target.h"

namespace fs = std::filesystem;

namespace kpg::build {

std::optional<std::string> find_module_file(const std::vector<std::string> &dirs, const std::string &file) {
  std::string alt = file;
  std::replace(alt.begin(), alt.end(), '_', '-');
  for (const std::string &d : dirs) {
    if (d.empty() || !fs::is_directory(d))
      continue;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(d, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec)
        break;
      std::string n = it->path().filename().string();
      if (n == file || n == alt)
        return it->path().string();
    }
  }
  return std::nullopt;
}

Expected<ModuleTarget> find_target_module(const std::vector<std::string> &dirs, const std::vector<std::string> &debug_dirs,
                                          const std::string &module_file) {
  ModuleTarget m;
  auto shipped = find_module_file(dirs, module_file);
  auto debug = find_module_file(debug_dirs, module_file);
  if (!shipped && !debug)
    return make_error(Location(module_file), "not found: pass --target-modules with the target's module files");
  if (shipped)
    m.shipped = *shipped;
  if (!debug) {
    m.symbols = *shipped;
    auto t = diff::TargetSymbols::load(m.symbols);
    if (!t)
      return std::move(t).take_error();
    if (!t->has_file_symbols())
      m.note = fmt::format("{} is stripped (no FILE symbols) and no unstripped copy was found (--target-debug-modules): "
                           "its locals are resolved by name where the name is unique in the module",
                           m.symbols);
    m.table = std::move(*t);
    return m;
  }
  m.symbols = *debug;
  auto b = diff::TargetSymbols::load(m.symbols);
  if (!b)
    return std::move(b).take_error();
  if (!shipped) {
    m.note = fmt::format("symbols from {} (no shipped copy to compare it with)", m.symbols);
    m.table = std::move(*b);
    return m;
  }
  auto a = diff::TargetSymbols::load(m.shipped);
  if (!a)
    return std::move(a).take_error();
  if (std::string why = diff::symbol_tables_differ(*a, *b); !why.empty())
    return make_error(Location(m.symbols), fmt::format("is not the unstripped copy of {}: {}. Are both from the "
                                                       "packages of one kernel version?",
                                                       m.shipped, why));
  m.note = fmt::format("symbols from the unstripped copy {} (same symbol table as the shipped {})", m.symbols, m.shipped);
  m.table = std::move(*b);
  return m;
}

} // namespace kpg::build
