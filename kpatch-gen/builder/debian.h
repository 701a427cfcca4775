// SPDX-License-Identifier: GPL-2.0-only
//
// Debian's own kernels as targets: everything the builder needs comes from packages of one
// version -- linux-source-<series> (the source Debian built from: linux-source-6.1 for
// 6.1.0-N-<flavour>, linux-source-6.12 for 6.12.N+deb12-<flavour>), linux-image-<abi>-<flavour>-dbg
// (vmlinux with symbols and DWARF), linux-headers-<abi>-<flavour> (.config and
// Module.symvers), linux-image-<abi>-<flavour>[-unsigned] (vmlinuz and the module .ko files).
//
// Packages already installed are used in place. Missing ones are fetched with
// `apt-get download` and unpacked with `dpkg-deb -x` into the cache
// ($KPATCH_GEN_CACHE/debian/<release>/root), not installed: installing a kernel image runs
// initramfs and bootloader hooks on the build machine, which a build tool must not do.
// Every package must have exactly the same version; a mismatch is reported with the versions
// found (the usual case: the running kernel is older or newer than the linux-source-6.1 the
// archive still carries). Debian 12 carries both series: 6.1 is its own kernel, 6.12 the
// backport of Debian 13's (bookworm-security, e.g. 6.12.118+deb12-cloud-amd64).
#pragma once
#include <optional>
#include <string>

#include "builder/progress.h"
#include "support/error.h"

namespace kpg::build {

struct DebianKernel {
  std::string release;     // "6.1.0-56-cloud-amd64"
  std::string version;     // "6.1.192-2"
  std::string source_tree; // pristine, extracted from linux-source-<series>
  std::string vmlinux;     // .../usr/lib/debug/boot/vmlinux-<release>
  std::string config;      // .../usr/src/linux-headers-<release>/.config
  std::string symvers;     // .../usr/src/linux-headers-<release>/Module.symvers
  std::string modules_dir; // .../lib/modules/<release> (stripped: no FILE symbols)
  std::string debug_modules_dir; // .../usr/lib/debug/lib/modules/<release> (-dbg: unstripped copies)
  std::string vmlinuz;     // .../boot/vmlinuz-<release>
  double provision_seconds = 0; // downloading and unpacking (reported apart from the build)
  bool downloaded = false;
};

// A Debian kernel release name (6.1.0-56-cloud-amd64, 6.1.0-56-amd64, 6.12.118+deb12-cloud-amd64)?
bool is_debian_release(const std::string &release);
// The kernel series of a Debian release, which names its source package: "6.1"
// (6.1.0-56-cloud-amd64), "6.12" (6.12.118+deb12-cloud-amd64, 6.12.38+deb13-amd64); nothing
// for another name.
std::optional<std::string> debian_kernel_series(const std::string &release);

// The release to use when none is given: `uname -r` if it is a Debian kernel.
Expected<std::string> default_debian_release();

Expected<DebianKernel> provision_debian_kernel(const std::string &release, const std::string &cache_root,
                                               Progress &progress);

} // namespace kpg::build
