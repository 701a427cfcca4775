// SPDX-License-Identifier: GPL-2.0-only
//
// Is the compiler that builds the objects the one that built the target kernel?
//
// Objects compiled by another gcc (or with other code-generation flags) differ from the
// running kernel's code in ways the diff cannot see: inlining decisions, clone names, stack
// layouts. kpatch compares only `.comment` strings, exactly, and users learnt to skip the check
// (its issues #431, #1285). We compare what matters, and say what differs:
//  - the version: vmlinux's `.comment` ("GCC: (Debian 12.2.0-14+deb12u1) 12.2.0") against
//    `CC --version` of the compiler kbuild will run (the first word of the config's
//    CONFIG_CC_VERSION_TEXT: Debian builds with "gcc-12");
//  - the flags: each unit's DW_AT_producer in the target's DWARF (gcc records the
//    code-generation options there) against the producer of our original object, ignoring
//    the -ffunction-sections -fdata-sections we add on purpose.
#pragma once
#include <string>
#include <vector>

#include "support/error.h"

namespace kpg::build {

// The compiler command the kernel config was made with ("gcc-12"), from
// CONFIG_CC_VERSION_TEXT; "gcc" when the config does not say.
std::string compiler_from_config(const std::string &config_path);

// "(Debian 12.2.0-14+deb12u1) 12.2.0" from "GCC: (Debian 12.2.0-14+deb12u1) 12.2.0" or from
// "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0": the part that identifies the build of gcc.
std::string compiler_identity(const std::string &version_line);

// Producer flags that differ (each prefixed '+' for ours only, '-' for the target's only),
// ignoring the flags kpatch-gen adds. Empty: same code generation.
std::vector<std::string> producer_differences(const std::string &target, const std::string &ours);

} // namespace kpg::build
