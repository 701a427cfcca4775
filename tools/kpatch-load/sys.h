// SPDX-License-Identifier: GPL-2.0-only
//
// The three seams between kpatch-load and the machine it runs on.
//
// Every decision the loader makes (is this transition stalled? which tasks block it? may the
// module be removed yet?) is driven by what it reads from sysfs/procfs, what two syscalls
// answer, and how much time has passed. Putting all three behind small interfaces lets the unit
// tests run the real decision code against a simulated kernel (tests/unit/loader/fake_kernel.h)
// on a simulated clock, so a 60-second stall test takes microseconds and needs no root.
//
//  - Fs: reads and writes kernel paths ("/sys/kernel/livepatch/x/enabled") and the state
//    directory. RootFs resolves every absolute path below a root directory (default "/"), so
//    `--root /tmp/tree` makes the tool look at a fake tree instead of the real kernel.
//  - ModuleSyscalls: finit_module(2) and delete_module(2). The real implementation issues the
//    syscalls directly; no insmod/rmmod is involved.
//  - Clock: a monotonic millisecond clock and sleep. The fake advances time on sleep.
//
// Paths given by the user on the command line (a MODULE.ko) are *not* rooted: they name a
// file on the machine the tool runs on, like any other command-line path.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "support/error.h"
#include "support/types.h"

namespace kpg::load {

class Fs {
public:
  virtual ~Fs() = default;
  // Whole-file read. Errors name the path and the errno text.
  virtual Expected<std::string> read(const std::string &path) = 0;
  // One write(2) of `data`, as `echo 0 > enabled` does: sysfs stores act on a single write and
  // report their verdict (EINVAL, EBUSY) as the write's errno. Returns 0 or the errno.
  virtual int write_attr(const std::string &path, std::string_view data) = 0;
  // Entry names (no "." / ".."), sorted. Errors when the directory cannot be opened.
  virtual Expected<std::vector<std::string>> list(const std::string &path) = 0;
  virtual bool exists(const std::string &path) = 0;
  virtual bool is_dir(const std::string &path) = 0;

  // State-directory operations (ordinary files, not kernel attributes).
  // Write through a temporary file and rename(2): a crash leaves the old file or the new one.
  virtual Expected<void> write_file_atomic(const std::string &path, const std::string &data) = 0;
  virtual Expected<void> make_dirs(const std::string &path) = 0;
  virtual Expected<void> remove_file(const std::string &path) = 0;
  // Copies a host file (not rooted) into the tree (rooted), atomically.
  virtual Expected<void> copy_in(const std::string &host_src, const std::string &dst) = 0;
  // The host path of a tree path (for finit_module on an installed module).
  virtual std::string host_path(const std::string &path) const = 0;
};

class ModuleSyscalls {
public:
  virtual ~ModuleSyscalls() = default;
  // finit_module(open(host_path), params, 0). Returns 0 or the errno.
  virtual int load_module(const std::string &host_path, const std::string &params) = 0;
  // delete_module(name, O_NONBLOCK). Returns 0 or the errno (EWOULDBLOCK while referenced).
  virtual int delete_module(const std::string &name) = 0;
};

class Clock {
public:
  virtual ~Clock() = default;
  virtual i64 now_ms() = 0;
  virtual void sleep_ms(i64 ms) = 0;
  // Wall-clock time for records ("2026-11-27T20:53:00Z"); fakes return a fixed string.
  virtual std::string wall_time() = 0;
};

// What every operation gets: the three seams together.
struct Host {
  Fs &fs;
  ModuleSyscalls &sys;
  Clock &clock;
};

// Real implementations.
class RootFs final : public Fs {
public:
  explicit RootFs(std::string root);
  Expected<std::string> read(const std::string &path) override;
  int write_attr(const std::string &path, std::string_view data) override;
  Expected<std::vector<std::string>> list(const std::string &path) override;
  bool exists(const std::string &path) override;
  bool is_dir(const std::string &path) override;
  Expected<void> write_file_atomic(const std::string &path, const std::string &data) override;
  Expected<void> make_dirs(const std::string &path) override;
  Expected<void> remove_file(const std::string &path) override;
  Expected<void> copy_in(const std::string &host_src, const std::string &dst) override;
  std::string host_path(const std::string &path) const override;
  const std::string &root() const { return root_; }

private:
  std::string root_; // no trailing slash; empty means "/"
};

class LinuxModuleSyscalls final : public ModuleSyscalls {
public:
  int load_module(const std::string &host_path, const std::string &params) override;
  int delete_module(const std::string &name) override;
};

class SteadyClock final : public Clock {
public:
  i64 now_ms() override;
  void sleep_ms(i64 ms) override;
  std::string wall_time() override;
};

// Reads a host file (not rooted), for module files named on the command line.
Expected<std::string> read_host_file(const std::string &path);

// "EBUSY (Device or resource busy)".
std::string errno_text(int err);

} // namespace kpg::load
