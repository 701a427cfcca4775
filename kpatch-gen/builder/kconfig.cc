// SPDX-License-Identifier: GPL-2.0-only
#include "builder/kconfig.h"

#include <filesystem>
#include <fmt/format.h>
#include <algorithm>
#include <regex>
#include <sstream>
#include <vector>

#include "support/file.h"

namespace fs = std::filesystem;

namespace kpg::build {

Expected<KernelConfig> KernelConfig::load(const std::string &path) {
  auto text = read_text_file(path);
  if (!text)
    return std::move(text).take_error();
  KernelConfig c;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("CONFIG_"))
      continue; // `# CONFIG_X is not set` and comments: off, like an option that is absent
    size_t eq = line.find('=');
    if (eq != std::string::npos)
      c.values_[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return c;
}

std::string KernelConfig::value(const std::string &option) const {
  auto it = values_.find(option);
  return it == values_.end() ? std::string() : it->second;
}

namespace {

enum class State { Built, NotBuilt, Unknown };

struct Verdict {
  State state = State::Unknown;
  NotBuilt why;
};

// A directory's kbuild file as logical lines: continuations joined, comments dropped.
std::vector<std::string> kbuild_lines(const std::string &srctree, const std::string &dir) {
  std::string base = srctree + "/" + (dir.empty() ? "" : dir + "/");
  auto text = read_text_file(fs::exists(base + "Kbuild") ? base + "Kbuild" : base + "Makefile");
  std::vector<std::string> out;
  if (!text)
    return out;
  std::istringstream in(*text);
  std::string line, cur;
  while (std::getline(in, line)) {
    if (size_t hash = line.find('#'); hash != std::string::npos)
      line.resize(hash);
    bool cont = !line.empty() && line.back() == '\\';
    if (cont)
      line.pop_back();
    cur += line + " ";
    if (!cont) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty())
    out.push_back(cur);
  return out;
}

std::string trim(const std::string &s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

class Reader {
public:
  Reader(const std::string &srctree, const KernelConfig &config) : srctree_(srctree), config_(config) {}

  // Is `word` ("n_gsm.o", "usbcore.o", "core/") built by `dir`'s kbuild file?
  Verdict in_dir(const std::string &dir, const std::string &word, int depth = 0) {
    if (depth > 4)
      return {};
    std::optional<Verdict> off; // the first mention found off, if every one is
    bool any = false;
    for (const std::string &line : kbuild_lines(srctree_, dir)) {
      size_t op = line.find('=');
      if (op == std::string::npos || op == 0)
        continue;
      size_t lhs_end = (line[op - 1] == '+' || line[op - 1] == ':' || line[op - 1] == '?') ? op - 1 : op;
      std::string lhs = trim(line.substr(0, lhs_end)), rhs = line.substr(op + 1);
      if (lhs.empty() || lhs.find_first_of(" \t") != std::string::npos)
        continue; // `ifeq (...)`, recipes: not an assignment we read
      std::istringstream words(rhs);
      std::string w;
      bool names = false;
      while (words >> w)
        names |= w == word;
      if (!names)
        continue;
      any = true;
      size_t dash = lhs.find("-$(");
      if (dash == std::string::npos)
        dash = lhs.rfind('-');
      if (dash == std::string::npos)
        return {}; // `targets := foo.o`, `FOO = foo.o`: not a kbuild list we can judge
      std::string prefix = lhs.substr(0, dash), suffix = lhs.substr(dash + 1);
      std::string loc = fmt::format("{}{}: {}", dir.empty() ? "" : dir + "/",
                                    fs::exists(srctree_ + "/" + dir + "/Kbuild") ? "Kbuild" : "Makefile", trim(line));
      if (suffix.starts_with("$(CONFIG_") && suffix.ends_with(")") &&
          suffix.find_first_of("$(", 2) == std::string::npos) {
        std::string option = suffix.substr(2, suffix.size() - 3);
        if (!config_.enabled(option)) {
          if (!off)
            off = Verdict{State::NotBuilt, {option, loc}};
          continue;
        }
      } else if (suffix != "y" && suffix != "m" && suffix != "objs") {
        return {}; // obj-$(subst m,y,$(CONFIG_X)), $(BITS): not ours to evaluate
      }
      if (prefix == "obj" || prefix == "lib" || prefix == "subdir")
        return {State::Built, {}};
      // A part of a composite object (usbcore-y += usb.o): built when the composite is.
      Verdict v = in_dir(dir, prefix + ".o", depth + 1);
      if (v.state != State::NotBuilt)
        return v;
      if (!off)
        off = v;
    }
    if (!any)
      return {};
    return off ? *off : Verdict{};
  }

  // Is `dir` descended into? drivers/usb/core/ needs `obj-$(CONFIG_USB) += core/` in
  // drivers/usb/Makefile and `... += usb/` in drivers/Makefile; top-level directories are
  // listed by the top Makefile in its own way and are taken as built.
  Verdict descended(const std::string &dir) {
    size_t slash = dir.rfind('/');
    if (slash == std::string::npos)
      return {State::Built, {}};
    std::string parent = dir.substr(0, slash);
    Verdict v = in_dir(parent, dir.substr(slash + 1) + "/");
    if (v.state == State::NotBuilt)
      return v;
    return descended(parent);
  }

private:
  const std::string &srctree_;
  const KernelConfig &config_;
};

} // namespace

BuildState build_state(const std::string &srctree, const std::string &source, const KernelConfig &config,
                       NotBuilt *why) {
  if (!source.ends_with(".c"))
    return BuildState::Unknown;
  size_t slash = source.rfind('/');
  std::string dir = slash == std::string::npos ? "" : source.substr(0, slash);
  std::string obj = source.substr(slash == std::string::npos ? 0 : slash + 1);
  obj = obj.substr(0, obj.size() - 2) + ".o";
  Reader r(srctree, config);
  Verdict v = r.in_dir(dir, obj);
  if (v.state == State::NotBuilt) {
    if (why)
      *why = v.why;
    return BuildState::NotBuilt;
  }
  Verdict d = r.descended(dir);
  if (d.state == State::NotBuilt) {
    if (why)
      *why = d.why;
    return BuildState::NotBuilt;
  }
  return v.state == State::Built && d.state == State::Built ? BuildState::Built : BuildState::Unknown;
}

std::optional<NotBuilt> not_built_reason(const std::string &srctree, const std::string &source,
                                         const KernelConfig &config) {
  NotBuilt why;
  if (build_state(srctree, source, config, &why) == BuildState::NotBuilt)
    return why;
  return std::nullopt;
}

static bool kbuild_names(const std::string &srctree, const std::string &dir, const std::string &word) {
  for (const std::string &line : kbuild_lines(srctree, dir)) {
    std::istringstream words(line);
    std::string w;
    while (words >> w)
      if (w == word)
        return true;
  }
  return false;
}

std::vector<Includer> including_units(const std::string &srctree, const std::string &source, const KernelConfig &config) {
  std::vector<Includer> out;
  if (!source.ends_with(".c"))
    return out;
  size_t slash = source.rfind('/');
  std::string dir = slash == std::string::npos ? "" : source.substr(0, slash);
  std::string file = source.substr(slash == std::string::npos ? 0 : slash + 1);
  std::string base = file.substr(0, file.size() - 2);
  if (kbuild_names(srctree, dir, base + ".o"))
    return out; // an object of its own (built or not: not_built_reason() says which)
  std::error_code ec;
  std::vector<std::string> sources;
  for (const fs::directory_entry &e : fs::directory_iterator(srctree + "/" + dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".c" && e.path().filename() != file)
      sources.push_back(e.path().filename().string());
  std::sort(sources.begin(), sources.end());
  // `#include "ident_map.c"` (quotes: the directory's own file, not <...> from the include path).
  std::regex inc("^[ \t]*#[ \t]*include[ \t]*\"" + std::regex_replace(file, std::regex("\\."), "\\.") + "\"");
  for (const std::string &s : sources) {
    std::string other = (dir.empty() ? "" : dir + "/") + s;
    // Built unless the Makefiles say it is not: init_64.o is `init_$(BITS).o` in
    // arch/x86/mm/Makefile, which the reader does not expand (the same one-sided rule as
    // not_built_reason()).
    if (not_built_reason(srctree, other, config))
      continue;
    auto text = read_text_file(srctree + "/" + other);
    if (!text)
      continue;
    std::istringstream in(*text);
    std::string line;
    for (unsigned n = 1; std::getline(in, line); n++)
      if (std::regex_search(line, inc)) {
        out.push_back({other, fmt::format("{}:{}: {}", other, n, line)});
        break;
      }
  }
  return out;
}

} // namespace kpg::build
