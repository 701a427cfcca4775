// SPDX-License-Identifier: GPL-2.0-only
//
// Errors with a location, and Expected<T> for the libraries.
//
// Libraries in lib/ never print and never exit: they return Expected<T>. An Error carries a
// structured location (file, section, offset, symbol) so that the tools can print the
// objtool-style line every kernel engineer knows how to read:
//
//     fs/proc/cmdline.o: .text.cmdline_proc_show+0x1c (cmdline_proc_show+0x1c): what and why
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "support/types.h"

namespace kpg {

struct Location {
  std::string file;
  std::string section;            // section name, empty if not about a section
  std::optional<u64> offset;      // offset inside `section`
  std::string symbol;             // symbol name, empty if none
  std::optional<u64> sym_offset;  // offset inside `symbol`

  Location() = default;
  explicit Location(std::string f) : file(std::move(f)) {}
  Location with_section(std::string s, std::optional<u64> off = std::nullopt) const {
    Location l = *this;
    l.section = std::move(s);
    l.offset = off;
    return l;
  }
  Location with_symbol(std::string s, std::optional<u64> off = std::nullopt) const {
    Location l = *this;
    l.symbol = std::move(s);
    l.sym_offset = off;
    return l;
  }
  // "file: section+0x10 (sym+0x4)" -- the parts that are known.
  std::string str() const;
};

struct Error {
  Location loc;
  std::string message;
  // Stable machine-readable kind, for callers that act differently on different failures
  // (lib/tuf: a repository that cannot be reached versus one whose metadata was rejected).
  // Empty when nobody needs to tell failures apart.
  std::string code = {};
  std::string str() const; // "<location>: <message>"
};

// Minimal std::expected stand-in (the project is C++20).
template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Expected(Error err) : v_(std::in_place_index<1>, std::move(err)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T &value() & { return std::get<0>(v_); }
  const T &value() const & { return std::get<0>(v_); }
  T &&value() && { return std::get<0>(std::move(v_)); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  const Error &error() const { return std::get<1>(v_); }
  Error take_error() && { return std::get<1>(std::move(v_)); }

private:
  std::variant<T, Error> v_;
};

template <> class [[nodiscard]] Expected<void> {
public:
  Expected() = default;
  Expected(Error err) : err_(std::move(err)) {}
  bool has_value() const { return !err_; }
  explicit operator bool() const { return has_value(); }
  const Error &error() const { return *err_; }
  Error take_error() && { return std::move(*err_); }

private:
  std::optional<Error> err_;
};

inline Error make_error(Location loc, std::string msg) { return Error{std::move(loc), std::move(msg)}; }
inline Error make_error(Location loc, std::string msg, std::string code) {
  return Error{std::move(loc), std::move(msg), std::move(code)};
}

} // namespace kpg
