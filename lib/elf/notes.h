// SPDX-License-Identifier: GPL-2.0-only
// ELF note streams (the contents of SHT_NOTE sections, and /sys/kernel/notes). No libelf:
// kpatch-load, a static binary that must not link libelf, compiles this file in too, so the
// builder (which records the target's build ID from vmlinux) and the loader (which compares
// it with the running kernel's) read build IDs with the same code.
#pragma once
#include <optional>
#include <span>
#include <string>

#include "support/types.h"

namespace kpg::elf {

// The NT_GNU_BUILD_ID descriptor of a note stream, as lowercase hex; nothing if there is no
// such note or the stream is truncated or corrupt before it.
std::optional<std::string> find_gnu_build_id(std::span<const u8> notes);

} // namespace kpg::elf
