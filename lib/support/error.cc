// SPDX-License-Identifier: GPL-2.0-only
#include "support/error.h"

#include <fmt/format.h>

namespace kpg {

std::string Location::str() const {
  std::string out = file;
  if (!section.empty()) {
    out += out.empty() ? "" : ": ";
    out += section;
    if (offset)
      out += fmt::format("+0x{:x}", *offset);
  }
  if (!symbol.empty()) {
    out += (out.empty() ? "(" : (section.empty() ? ": (" : " ("));
    out += symbol;
    if (sym_offset)
      out += fmt::format("+0x{:x}", *sym_offset);
    out += ")";
  }
  return out;
}

std::string Error::str() const {
  std::string l = loc.str();
  return l.empty() ? message : l + ": " + message;
}

} // namespace kpg
