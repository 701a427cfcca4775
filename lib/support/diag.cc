// SPDX-License-Identifier: GPL-2.0-only
#include "support/diag.h"

#include <unistd.h>

namespace kpg {

std::string Diagnostic::str() const {
  const char *sev = severity == Severity::Error ? "error" : severity == Severity::Warning ? "warning" : "note";
  std::string l = loc.str();
  std::string s = l.empty() ? std::string(sev) + ": " : l + ": " + sev + ": ";
  s += message;
  if (!code.empty())
    s += " [" + code + "]";
  return s;
}

void Diag::emit(Diagnostic d) {
  if (d.severity == Severity::Warning && werror_)
    d.severity = Severity::Error;
  if (d.severity == Severity::Error)
    ++errors_;
  if (out_ && !quiet_) {
    std::string s = d.str();
    if (d.loc.str().empty() && !program_.empty())
      s = program_ + ": " + s;
    std::fprintf(out_, "%s\n", s.c_str());
    std::fflush(out_);
  }
  all_.push_back(std::move(d));
}

void Diag::error(const Location &loc, std::string msg, std::string code) {
  emit({Severity::Error, loc, std::move(msg), std::move(code)});
}
void Diag::warn(const Location &loc, std::string msg, std::string code) {
  emit({Severity::Warning, loc, std::move(msg), std::move(code)});
}
void Diag::note(const Location &loc, std::string msg, std::string code) {
  emit({Severity::Note, loc, std::move(msg), std::move(code)});
}

} // namespace kpg
