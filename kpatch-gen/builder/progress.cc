// SPDX-License-Identifier: GPL-2.0-only
#include "builder/progress.h"

#include <fmt/format.h>

namespace kpg::build {

static double secs(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Progress::stage(const std::string &name, const std::string &detail) {
  auto now = Clock::now();
  if (!current_.empty()) {
    timings_.emplace_back(current_, secs(now - stage_start_));
    if (!quiet_)
      std::fprintf(stderr, "kpatch-gen:       %s done in %.1f s\n", current_.c_str(), secs(now - stage_start_));
  }
  current_ = name;
  stage_start_ = now;
  ++n_;
  if (!quiet_)
    std::fprintf(stderr, "kpatch-gen: [%d/%d] %s%s%s\n", n_, total_, name.c_str(), detail.empty() ? "" : ": ",
                 detail.c_str());
}

void Progress::note(const std::string &line) const {
  if (!quiet_)
    std::fprintf(stderr, "kpatch-gen:       %s\n", line.c_str());
}

void Progress::result(const std::string &line) const {
  if (!quiet_)
    std::fprintf(stderr, "kpatch-gen build: %s\n", line.c_str());
}

void Progress::finish() {
  if (!current_.empty()) {
    auto now = Clock::now();
    timings_.emplace_back(current_, secs(now - stage_start_));
    if (!quiet_)
      std::fprintf(stderr, "kpatch-gen:       %s done in %.1f s\n", current_.c_str(), secs(now - stage_start_));
    current_.clear();
  }
}

double Progress::total_seconds() const { return secs(Clock::now() - start_); }

} // namespace kpg::build
