// SPDX-License-Identifier: GPL-2.0-only
#include "test_util.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

namespace kpg::load::test {

static std::string fast_temp_base() {
  if (!std::getenv("TMPDIR") && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return {};
}

TempDir::TempDir() : kpg::test::TempDir("kpg-loader", fast_temp_base()) {}

std::vector<std::string> good_modinfo(const std::string &name) {
  return {"license=GPL",
          "livepatch=Y",
          "kpg_target_release=" + kRelease,
          "kpg_target_build_id=" + kBuildId,
          "depends=",
          "name=" + name,
          "vermagic=" + kVermagic};
}

std::vector<std::string> with(std::vector<std::string> entries, const std::string &key,
                              const std::optional<std::string> &value) {
  std::vector<std::string> out;
  bool done = false;
  for (const std::string &e : entries) {
    if (e.starts_with(key + "=")) {
      if (value && !done)
        out.push_back(key + "=" + *value);
      done = true;
      continue;
    }
    out.push_back(e);
  }
  if (!done && value)
    out.push_back(key + "=" + *value);
  return out;
}

static std::string c_escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

std::string build_module(const std::string &dir, const std::string &stem, const std::vector<std::string> &entries,
                         const std::optional<std::string> &this_module_name) {
  std::string c = dir + "/" + stem + ".c";
  std::string ko = dir + "/" + stem + ".ko";
  std::string src = "static const char kpg_modinfo[] __attribute__((used, section(\".modinfo\"), aligned(1))) =\n";
  // Entries are NUL-separated; the literal's own terminator ends the last one. Splitting each
  // "\0" into its own literal keeps a following hex digit from extending the escape.
  for (const std::string &e : entries)
    src += fmt::format("  \"{}\" \"\\0\"\n", c_escape(e));
  src += "  \"\";\n";
  if (this_module_name) {
    // struct module: enum state (4) + padding (4) + list_head (16), then char name[56].
    src += "struct fake_module { int state; int pad; void *list[2]; char name[56]; };\n";
    src += fmt::format("__attribute__((used, section(\".gnu.linkonce.this_module\"))) struct fake_module "
                       "__this_module = {{ .name = \"{}\" }};\n",
                       c_escape(*this_module_name));
  }
  // Many tests build the same module; compile each distinct source once per test run.
  static TempDir cache;
  static std::map<std::string, std::string> compiled;
  auto hit = compiled.find(src);
  if (hit == compiled.end()) {
    std::string cached = fmt::format("{}/{}.o", cache.path(), compiled.size());
    std::ofstream(c) << src;
    const char *cc = std::getenv("CC");
    std::string cmd = fmt::format("{} -c -o '{}' '{}'", cc && *cc ? cc : "cc", cached, c);
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("compiling test module failed: " + cmd);
    hit = compiled.emplace(src, cached).first;
  }
  std::filesystem::copy_file(hit->second, ko, std::filesystem::copy_options::overwrite_existing);
  return ko;
}

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

bool any_contains(const std::vector<std::string> &v, const std::string &needle) {
  for (const std::string &s : v)
    if (contains(s, needle))
      return true;
  return false;
}

bool RecordingReporter::any_warning_contains(const std::string &s) const { return any_contains(warnings, s); }

} // namespace kpg::load::test
