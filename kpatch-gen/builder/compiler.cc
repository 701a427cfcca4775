// SPDX-License-Identifier: GPL-2.0-only
#include "builder/compiler.h"

#include <set>
#include <sstream>

#include "support/file.h"

namespace kpg::build {

std::string compiler_from_config(const std::string &config_path) {
  auto text = read_text_file(config_path);
  if (!text)
    return "gcc";
  static const std::string key = "CONFIG_CC_VERSION_TEXT=\"";
  size_t k = text->find(key);
  if (k == std::string::npos)
    return "gcc";
  size_t start = k + key.size();
  size_t end = text->find_first_of(" \"", start);
  std::string cc = text->substr(start, end - start);
  return cc.empty() ? "gcc" : cc;
}

std::string compiler_identity(const std::string &line) {
  std::string s = line;
  if (s.rfind("GCC: ", 0) == 0)
    return s.substr(5);
  size_t sp = s.find(' ');
  return sp == std::string::npos ? s : s.substr(sp + 1);
}

std::vector<std::string> producer_differences(const std::string &target, const std::string &ours) {
  auto flags = [](const std::string &p) {
    std::set<std::string> f;
    std::istringstream in(p);
    std::string tok;
    while (in >> tok)
      if (tok[0] == '-' && tok != "-ffunction-sections" && tok != "-fdata-sections")
        f.insert(tok);
      else if (tok[0] != '-')
        f.insert(tok); // "GNU", "C11", "12.2.0": language and version
    return f;
  };
  std::set<std::string> t = flags(target), o = flags(ours);
  std::vector<std::string> diff;
  for (const std::string &x : o)
    if (!t.count(x))
      diff.push_back("+" + x);
  for (const std::string &x : t)
    if (!o.count(x))
      diff.push_back("-" + x);
  return diff;
}

} // namespace kpg::build
