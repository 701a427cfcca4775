// SPDX-License-Identifier: GPL-2.0-only
//
// Diagnostics: every problem of a run, with a location and an optional stable code.
//
// Follows lld/mold: error() records a problem and lets the caller carry on with a sound value
// so one run shows every problem; checkpoint() at a phase boundary tells the caller to stop
// if anything went wrong.
//
// Who prints. A tool (kpatch-gen, kpatch-load) owns the Diag that prints, constructed on
// stderr: each diagnostic appears as it is recorded. Libraries never print. A library function
// that fails once returns Expected<T> (error.h), and the tool turns that into a diagnostic
// with check(). A library *pass* whose job is to find every problem of an input -- lib/diff,
// which reports every reason a patch cannot be live patched -- records them in a Diag of its
// own made with Diag(nullptr), which only collects, and hands them back in its result; the
// tool prints them with add().
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "support/error.h"

namespace kpg {

enum class Severity { Note, Warning, Error };

struct Diagnostic {
  Severity severity;
  Location loc;
  std::string message;
  std::string code; // stable machine-readable code, e.g. "INIT_CHANGED" (may be empty)
  std::string str() const;
};

class Diag {
public:
  // Prints each diagnostic to `out` as it is recorded; nullptr: only collects (a library's).
  explicit Diag(std::FILE *out = stderr) : out_(out) {}

  void error(const Location &loc, std::string msg, std::string code = {});
  void warn(const Location &loc, std::string msg, std::string code = {});
  void note(const Location &loc, std::string msg, std::string code = {});
  void error(const Error &e, std::string code = {}) { error(e.loc, e.message, std::move(code)); }
  // Records a diagnostic collected elsewhere (by a library's Diag), printing it as this one
  // prints its own.
  void add(Diagnostic d) { emit(std::move(d)); }

  // The tool's name, printed before diagnostics that have no location:
  // "kpatch-gen build: error: no kernel config" rather than "error: no kernel config".
  void set_program(std::string name) { program_ = std::move(name); }
  // Print nothing; just remember (used by tests and by --quiet).
  void set_quiet(bool q) { quiet_ = q; }
  void set_werror(bool w) { werror_ = w; }

  bool has_errors() const { return errors_ > 0; }
  unsigned error_count() const { return errors_; }
  // True when the caller must stop at this phase boundary.
  bool checkpoint() const { return has_errors(); }
  const std::vector<Diagnostic> &all() const { return all_; }

  // Turns a library result into a diagnostic; returns whether it held a value.
  template <typename T> bool check(const Expected<T> &e, std::string code = {}) {
    if (e)
      return true;
    error(e.error(), std::move(code));
    return false;
  }

private:
  void emit(Diagnostic d);
  std::FILE *out_;
  std::string program_;
  bool quiet_ = false;
  bool werror_ = false;
  unsigned errors_ = 0;
  std::vector<Diagnostic> all_;
};

} // namespace kpg
