// SPDX-License-Identifier: GPL-2.0-only
// The scratch directory every unit-test suite uses for the sources, objects and fake kernel
// trees it makes: fresh per object, removed with everything in it when the object goes.
#pragma once
#include <stdlib.h> // mkdtemp

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace kpg::test {

class TempDir {
public:
  // <base>/<prefix>-XXXXXX; `base` defaults to the system temp directory ($TMPDIR or /tmp).
  explicit TempDir(const std::string &prefix = "kpg-test", std::string base = {}) {
    if (base.empty())
      base = std::filesystem::temp_directory_path().string();
    std::string tmpl = base + "/" + prefix + "-XXXXXX";
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed in " + base);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

} // namespace kpg::test
