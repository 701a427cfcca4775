// SPDX-License-Identifier: GPL-2.0-only
// Progress lines for long steps ("[3/8] compile 2 units ... 4.1 s") and stage timings for
// the report and the benchmark.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace kpg::build {

class Progress {
public:
  explicit Progress(bool quiet, int total) : quiet_(quiet), total_(total) {}
  // Starts stage `name`; the previous stage (if any) ends and its time is recorded.
  void stage(const std::string &name, const std::string &detail = {});
  void note(const std::string &line) const;
  // The build's last line ("kpatch-gen build: wrote ..."), unless quiet.
  void result(const std::string &line) const;
  void finish();
  const std::vector<std::pair<std::string, double>> &timings() const { return timings_; }
  double total_seconds() const;

private:
  using Clock = std::chrono::steady_clock;
  bool quiet_;
  int total_;
  int n_ = 0;
  std::string current_;
  Clock::time_point start_ = Clock::now(), stage_start_ = Clock::now();
  std::vector<std::pair<std::string, double>> timings_;
};

} // namespace kpg::build
