// SPDX-License-Identifier: GPL-2.0-only
//
// Typed indices and the vectors they index.
//
// The object model refers to sections and symbols by index, never by pointer: growing a
// vector cannot invalidate a reference, two models can be compared and copied with the
// defaults, and a map between two files is just a table from one index type to another.
// Making each index its own enum type turns "used a symbol index as a section index" into
// a compile error.
#pragma once
#include <cassert>
#include <map>
#include <optional>
#include <vector>

#include "support/types.h"

namespace kpg {

template <typename Id> constexpr u32 to_index(Id id) { return static_cast<u32>(id); }

// A vector indexed by a typed id (enum class Id : u32).
template <typename Id, typename T> class IdVector {
public:
  using value_type = T;

  Id push_back(T value) {
    items_.push_back(std::move(value));
    return Id(static_cast<u32>(items_.size() - 1));
  }
  template <typename... Args> Id emplace_back(Args &&...args) {
    items_.emplace_back(std::forward<Args>(args)...);
    return Id(static_cast<u32>(items_.size() - 1));
  }

  T &operator[](Id id) {
    assert(to_index(id) < items_.size());
    return items_[to_index(id)];
  }
  const T &operator[](Id id) const {
    assert(to_index(id) < items_.size());
    return items_[to_index(id)];
  }
  bool contains(Id id) const { return to_index(id) < items_.size(); }
  u32 size() const { return static_cast<u32>(items_.size()); }
  bool empty() const { return items_.empty(); }
  void reserve(size_t n) { items_.reserve(n); }
  void clear() { items_.clear(); }

  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

  // All ids in order, for range-for loops that need the id and the value.
  struct IdRange {
    u32 n;
    struct It {
      u32 i;
      Id operator*() const { return Id(i); }
      It &operator++() {
        ++i;
        return *this;
      }
      bool operator!=(const It &o) const { return i != o.i; }
    };
    It begin() const { return {0}; }
    It end() const { return {n}; }
  };
  IdRange ids() const { return {size()}; }

  bool operator==(const IdVector &) const = default;

private:
  std::vector<T> items_;
};

// A dense map from one id space to optional values (e.g. orig SymbolId -> patched SymbolId).
template <typename Id, typename T> class IdMap {
public:
  IdMap() = default;
  explicit IdMap(u32 n) : items_(n) {}
  void resize(u32 n) { items_.resize(n); }
  void set(Id id, T v) {
    if (to_index(id) >= items_.size())
      items_.resize(to_index(id) + 1);
    items_[to_index(id)] = std::move(v);
  }
  void erase(Id id) {
    if (to_index(id) < items_.size())
      items_[to_index(id)].reset();
  }
  const std::optional<T> &get(Id id) const {
    static const std::optional<T> none;
    return to_index(id) < items_.size() ? items_[to_index(id)] : none;
  }
  bool has(Id id) const { return get(id).has_value(); }

private:
  std::vector<std::optional<T>> items_;
};

// The same interface for maps that hold values for a few ids of a big id space: an IdMap
// sized by the highest id set costs (id + 1) * sizeof(std::optional<T>) however few values
// it holds (and growing it doubles). The relocation plan decides for the few symbols one
// changed function refers to, out of the 30,000 of a 10,000-function unit: as an IdMap,
// RelocPlan::external alone took 8 MB (massif), the largest block at the end of the run.
template <typename Id, typename T> class SparseIdMap {
public:
  void set(Id id, T v) { items_[to_index(id)] = std::move(v); }
  void erase(Id id) { items_.erase(to_index(id)); }
  const std::optional<T> &get(Id id) const {
    static const std::optional<T> none;
    auto it = items_.find(to_index(id));
    return it != items_.end() ? it->second : none;
  }
  bool has(Id id) const { return items_.count(to_index(id)) != 0; }

private:
  std::map<u32, std::optional<T>> items_; // values are always set
};

} // namespace kpg
