// SPDX-License-Identifier: GPL-2.0-only
// Reading one section's bytes from a possibly huge ELF file (a vmlinux with debug info is
// hundreds of megabytes) without building the whole model: .notes for the build ID,
// .modinfo of a module, .comment for the compiler.
#pragma once
#include <string>
#include <vector>

#include "support/error.h"

namespace kpg::elf {

// The contents of the first section named `name`; an error if there is none.
Expected<std::vector<u8>> read_section_bytes(const std::string &path, const std::string &name);

// Up to `len` bytes of the file's memory image at virtual address `addr` (a symbol's value in
// a linked executable), from the allocated section that holds it; fewer when the section ends
// first. Only those bytes are copied: a string in the 10 MB .rodata of a vmlinux.
Expected<std::vector<u8>> read_bytes_at_address(const std::string &path, u64 addr, u64 len);

// GNU build ID (NT_GNU_BUILD_ID note) as lowercase hex, from any note section of the file.
Expected<std::string> read_build_id(const std::string &path);

} // namespace kpg::elf
