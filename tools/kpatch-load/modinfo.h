// SPDX-License-Identifier: GPL-2.0-only
//
// Reading a kernel module's .modinfo without loading it.
//
// .modinfo is a run of NUL-terminated "key=value" strings (MODULE_INFO(), MODULE_LICENSE(),
// and what modpost adds: vermagic=, name=, depends=, srcversion=). The kernel reads the same
// section in check_modinfo() before it applies anything, so every check the loader makes here
// is one the kernel would otherwise make later with a less helpful message in dmesg.
//
// We parse the ELF section headers ourselves (about 80 lines) rather than through lib/elf:
// only two sections are needed, and keeping libelf out of this binary lets it link fully
// statically into a busybox initramfs.
//
// Keys defined by kpatch-gen (written by the builder, checked by the loader):
//   kpg_target_release=<release>   e.g. "6.1.0-18-amd64"; must equal the running kernel's
//                                  /proc/sys/kernel/osrelease exactly.
//   kpg_target_build_id=<hex>      the GNU build ID (NT_GNU_BUILD_ID note) of the vmlinux the
//                                  patch was built against, lowercase or uppercase hex, 2 to
//                                  128 digits, even length; compared case-insensitively with
//                                  the note in /sys/kernel/notes.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "elf/modsig.h"
#include "support/error.h"
#include "support/types.h"

namespace kpg::load {

struct ModInfo {
  std::string path;    // the file, for messages
  std::string name;    // module name as the kernel will call it (name=, else this_module)
  std::vector<std::pair<std::string, std::string>> entries; // in file order

  // The appended module signature (elf/modsig.h), read from the file's end: none (unsigned),
  // present, or a marker with a trailer the kernel would reject (signature_problem says why).
  std::optional<elf::AppendedSignature> signature;
  std::string signature_problem;

  // First value of `key`, if present.
  std::optional<std::string> get(std::string_view key) const;
  // MODULE_INFO(livepatch, "Y"): the kernel sets mod->klp from exactly this value.
  bool is_livepatch() const;
};

// Reads `path` (a host path) and extracts .modinfo and the module name.
Expected<ModInfo> read_modinfo(const std::string &path);
Expected<ModInfo> parse_modinfo(const std::string &path, std::span<const u8> image);

// Module names as the kernel stores them: '-' becomes '_' (KBUILD_MODNAME does this).
std::string normalize_module_name(std::string name);

// Lowercase hex, or nullopt if `s` is not an even-length hex string of 2..128 digits.
std::optional<std::string> normalize_build_id(std::string_view s);

} // namespace kpg::load
