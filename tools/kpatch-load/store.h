// SPDX-License-Identifier: GPL-2.0-only
//
// The state directory: installed patches per kernel release, their history, and records of
// the modules this tool loaded.
//
//   <base>/<release>/                 base defaults to /var/lib/kpatch-gen (below --root)
//     installed.json                  the stack of installed cumulative patches + history
//     modules/<seq>-<name>.ko         copies of installed modules (the stack refers to these)
//     loaded/<name>.json              one record per module kpatch-load loaded in this boot
//
// Why records of loaded modules: the kernel keeps no copy of a loaded module's .modinfo that
// sysfs shows (only version/srcversion, and only sometimes), so "which kernel build was this
// patch made for" is unknowable after the fact unless we wrote it down when we had the file.
// Each record carries the boot ID (/proc/sys/kernel/random/boot_id) and is ignored in any
// other boot: a module of the same name loaded after a reboot is not the one we recorded.
//
// Installed patches form a stack: the newest is the cumulative (replace-mode) patch that
// `load --installed` (the systemd unit) loads at boot; `rollback` pops it and loads the one
// below as its replacement. Both files are written atomically (temp file + rename).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "support/error.h"
#include "sys.h"

namespace kpg::load {

struct InstalledPatch {
  u64 seq = 0;
  std::string name;         // module name
  std::string file;         // relative to the release dir: "modules/0001-kpg_v1.ko"
  std::string source;       // where it was installed from
  std::string installed_at; // wall time
};

struct HistoryEntry {
  std::string time;
  std::string action; // "install", "uninstall", "rollback"
  std::string name;   // the patch installed / uninstalled / rolled back from
  std::string to;     // rollback: the patch now current ("" = none)
};

struct InstallState {
  std::vector<InstalledPatch> stack; // oldest first; back() is loaded at boot
  std::vector<HistoryEntry> history;
  u64 next_seq = 1;
};

struct LoadedRecord {
  std::string name;
  std::string path;               // the .ko that was loaded (host path)
  std::string vermagic;
  std::string target_release;     // kpg_target_release, or "" when the module had none
  std::string target_build_id;    // kpg_target_build_id (normalized), or ""
  std::string boot_id;
  std::string loaded_at;
};

class Store {
public:
  Store(Fs &fs, std::string base, std::string release, std::string boot_id);

  const std::string &dir() const { return dir_; } // <base>/<release>
  std::string module_path(const InstalledPatch &p) const { return dir_ + "/" + p.file; }

  Expected<InstallState> read_installed();
  Expected<void> write_installed(const InstallState &st);

  Expected<void> record_loaded(const LoadedRecord &r);
  std::optional<LoadedRecord> loaded_record(const std::string &name); // this boot only
  void forget_loaded(const std::string &name);

private:
  Fs &fs_;
  std::string dir_;
  std::string boot_id_;
};

// The current boot's ID, or "" when the kernel does not expose it.
std::string read_boot_id(Fs &fs);

} // namespace kpg::load
