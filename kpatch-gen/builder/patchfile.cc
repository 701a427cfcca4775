// SPDX-License-Identifier: GPL-2.0-only
#include "builder/patchfile.h"

#include <cstring>
#include <fmt/format.h>
#include <sstream>

#include "support/file.h"

namespace kpg::build {

static std::string strip_component(const std::string &p) {
  size_t slash = p.find('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// "--- a/fs/proc/cmdline.c\t2024-01-01 ..." -> "a/fs/proc/cmdline.c"
static std::string header_path(const std::string &line) {
  std::string rest = line.substr(4);
  size_t tab = rest.find('\t');
  if (tab != std::string::npos)
    rest.resize(tab);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r'))
    rest.pop_back();
  return rest;
}

Expected<PatchInfo> parse_patch(const std::string &path) {
  auto text = read_text_file(path);
  if (!text)
    return std::move(text).take_error();
  PatchInfo info;
  info.file = path;
  std::istringstream in(*text);
  std::string line, minus;
  u64 lineno = 0;
  bool have_minus = false;
  while (std::getline(in, line)) {
    lineno++;
    if (line.rfind("--- ", 0) == 0) {
      minus = header_path(line);
      have_minus = true;
      continue;
    }
    if (line.rfind("+++ ", 0) == 0 && have_minus) {
      std::string plus = header_path(line);
      PatchedFile f;
      f.created = minus == "/dev/null";
      f.deleted = plus == "/dev/null";
      f.path = strip_component(f.deleted ? minus : plus);
      if (f.path.empty() || f.path.find("..") != std::string::npos || f.path[0] == '/')
        return make_error(Location(path).with_section("line", lineno),
                          fmt::format("unusable file name '{}' in the patch header", plus));
      info.files.push_back(std::move(f));
      have_minus = false;
      continue;
    }
    have_minus = false;
  }
  if (info.files.empty())
    return make_error(Location(path), "no '--- a/FILE' / '+++ b/FILE' headers: not a unified diff");
  return info;
}

std::string unsupported_reason(const std::string &p) {
  auto ends = [&](const char *s) { return p.size() >= std::strlen(s) && p.compare(p.size() - std::strlen(s), std::string::npos, s) == 0; };
  auto starts = [&](const char *s) { return p.rfind(s, 0) == 0; };
  if (ends(".S") || ends(".s"))
    return "assembly is built without ftrace entries and objtool-generated metadata the diff relies on; "
           "livepatch cannot redirect it";
  if (p.find("/vdso/") != std::string::npos || starts("arch/x86/entry/vdso") || starts("arch/x86/um/vdso"))
    return "vDSO code runs in user space and is mapped from an image built into the kernel";
  if (starts("arch/x86/boot/") || starts("arch/x86/realmode/"))
    return "boot and real-mode code runs before the kernel proper and is not live patchable";
  if (starts("scripts/") || starts("tools/") || starts("Documentation/"))
    return "not kernel code";
  if (ends("Makefile") || ends("Kbuild") || p.find("Kconfig") != std::string::npos)
    return "build files change how the kernel is built, not code a live patch can carry";
  return {};
}

} // namespace kpg::build
