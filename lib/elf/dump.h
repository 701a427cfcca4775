// SPDX-License-Identifier: GPL-2.0-only
// A stable, human-readable text dump of an ObjectFile (what `kp-dump` prints). Used by tests
// and by `--dump-after` debugging: names instead of indices where possible so that two
// dumps can be diffed.
#pragma once
#include <string>

#include "elf/model.h"

namespace kpg::elf {

struct DumpOptions {
  bool sections = true;
  bool symbols = true;
  bool relocations = true;
  bool contents = false; // hex of section bytes
};

std::string dump(const ObjectFile &obj, const DumpOptions &opts = {});

// "W A X M S I L G T E o"-style flag letters as readelf prints them.
std::string section_flags_string(u64 flags);

} // namespace kpg::elf
