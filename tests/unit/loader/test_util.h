// SPDX-License-Identifier: GPL-2.0-only
// Helpers for the loader tests: temp dirs, livepatch-like modules compiled on the fly, and a
// Reporter that records events instead of printing them.
#pragma once
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "fake_kernel.h"
#include "loader.h"
#include "report.h"
#include "store.h"

namespace kpg::load::test {

// The fake trees are thousands of tiny files created and removed per test; on a busy ext4
// /tmp that costs ~250 ms a test, in /dev/shm about 10 ms. An explicit TMPDIR still wins.
class TempDir : public kpg::test::TempDir {
public:
  TempDir();
};

inline const std::string kRelease = "6.1.0-kpg";
inline const std::string kBuildId = "0123456789abcdef0123456789abcdef01234567";
inline const std::string kVermagic = "6.1.0-kpg SMP preempt mod_unload modversions ";

// The .modinfo of a module built for the fake kernel; tests edit entries to break it.
std::vector<std::string> good_modinfo(const std::string &name);

// Compiles a C file whose .modinfo section holds `entries` (and, when given, a
// .gnu.linkonce.this_module section with `this_module_name` at offset 24) with the system C
// compiler into <dir>/<stem>.ko and returns its path. No binary is checked in.
std::string build_module(const std::string &dir, const std::string &stem, const std::vector<std::string> &entries,
                         const std::optional<std::string> &this_module_name = std::nullopt);

// Replace "key=..." in entries (or append it); value nullopt removes the key.
std::vector<std::string> with(std::vector<std::string> entries, const std::string &key,
                              const std::optional<std::string> &value);

class RecordingReporter final : public Reporter {
public:
  std::vector<std::string> steps, notes, warnings;
  std::vector<Progress> progress_events;
  std::vector<StallReport> stalls;
  void step(const std::string &m) override { steps.push_back(m); }
  void note(const std::string &m) override { notes.push_back(m); }
  void warn(const std::string &m) override { warnings.push_back(m); }
  void progress(const Progress &p) override { progress_events.push_back(p); }
  void stalled(const StallReport &r) override { stalls.push_back(r); }
  bool any_warning_contains(const std::string &s) const;
};

// What the load/unload/install/status tests start from: a simulated kernel, the loader's state
// store for its release, and modules built for it on demand.
struct LoaderTest : ::testing::Test {
  TempDir tree, mods;
  FakeKernel k{tree.path()};
  Host host{k, k, k};
  RecordingReporter rep;
  Store store{k, "/var/lib/kpatch-gen", kRelease, "3f1c2a9e-boot-1"};
  LoadOptions opts;

  std::string mod(const std::string &name) { return build_module(mods.path(), name, good_modinfo(name)); }
};

bool contains(const std::string &haystack, const std::string &needle);
bool any_contains(const std::vector<std::string> &v, const std::string &needle);

} // namespace kpg::load::test
