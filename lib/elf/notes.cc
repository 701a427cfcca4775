// SPDX-License-Identifier: GPL-2.0-only
#include "elf/notes.h"

#include <elf.h>

#include <cstring>
#include <fmt/format.h>

namespace kpg::elf {

std::optional<std::string> find_gnu_build_id(std::span<const u8> notes) {
  auto align4 = [](u64 v) { return (v + 3) & ~u64{3}; };
  u64 pos = 0;
  while (pos + 12 <= notes.size()) {
    u32 namesz, descsz, type;
    std::memcpy(&namesz, notes.data() + pos, 4);
    std::memcpy(&descsz, notes.data() + pos + 4, 4);
    std::memcpy(&type, notes.data() + pos + 8, 4);
    u64 name_off = pos + 12;
    u64 desc_off = name_off + align4(namesz);
    u64 next = desc_off + align4(descsz);
    if (desc_off > notes.size() || next > notes.size() || next <= pos)
      return std::nullopt; // truncated or corrupt stream
    // namesz counts the terminating NUL: "GNU\0" is 4.
    if (type == NT_GNU_BUILD_ID && namesz == 4 && std::memcmp(notes.data() + name_off, "GNU", 4) == 0 && descsz > 0) {
      std::string hex;
      for (u64 i = 0; i < descsz; i++)
        hex += fmt::format("{:02x}", notes[desc_off + i]);
      return hex;
    }
    pos = next;
  }
  return std::nullopt;
}

} // namespace kpg::elf
