// SPDX-License-Identifier: GPL-2.0-only
#include "store.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace kpg::load {

using nlohmann::json;

Store::Store(Fs &fs, std::string base, std::string release, std::string boot_id)
    : fs_(fs), dir_(std::move(base) + "/" + release), boot_id_(std::move(boot_id)) {}

std::string read_boot_id(Fs &fs) {
  auto t = fs.read("/proc/sys/kernel/random/boot_id");
  if (!t)
    return {};
  std::string s = *t;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

// Reading untrusted JSON without exceptions: parse(..., allow_exceptions=false) and typed
// accessors that fall back to a default instead of throwing type_error.
static std::string str_of(const json &j, const char *key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
static u64 u64_of(const json &j, const char *key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<u64>() : 0;
}

Expected<InstallState> Store::read_installed() {
  std::string path = dir_ + "/installed.json";
  InstallState st;
  if (!fs_.exists(path))
    return st;
  auto text = fs_.read(path);
  if (!text)
    return std::move(text).take_error();
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return make_error(Location(path), "not valid JSON; fix or remove it (install state unknown)");
  if (auto it = j.find("stack"); it != j.end() && it->is_array()) {
    for (const json &e : *it) {
      if (!e.is_object())
        continue;
      InstalledPatch p{u64_of(e, "seq"), str_of(e, "name"), str_of(e, "file"), str_of(e, "source"),
                       str_of(e, "installed_at")};
      if (p.name.empty() || p.file.empty())
        return make_error(Location(path), "stack entry without name or file");
      st.stack.push_back(std::move(p));
    }
  }
  if (auto it = j.find("history"); it != j.end() && it->is_array()) {
    for (const json &e : *it)
      if (e.is_object())
        st.history.push_back({str_of(e, "time"), str_of(e, "action"), str_of(e, "name"), str_of(e, "to")});
  }
  st.next_seq = std::max<u64>(1, u64_of(j, "next_seq"));
  for (const InstalledPatch &p : st.stack)
    st.next_seq = std::max(st.next_seq, p.seq + 1);
  return st;
}

Expected<void> Store::write_installed(const InstallState &st) {
  json j;
  j["next_seq"] = st.next_seq;
  j["stack"] = json::array();
  for (const InstalledPatch &p : st.stack)
    j["stack"].push_back(
        {{"seq", p.seq}, {"name", p.name}, {"file", p.file}, {"source", p.source}, {"installed_at", p.installed_at}});
  j["history"] = json::array();
  for (const HistoryEntry &h : st.history) {
    json e = {{"time", h.time}, {"action", h.action}, {"name", h.name}};
    if (h.action == "rollback")
      e["to"] = h.to;
    j["history"].push_back(e);
  }
  if (auto r = fs_.make_dirs(dir_); !r)
    return r;
  return fs_.write_file_atomic(dir_ + "/installed.json", j.dump(2) + "\n");
}

Expected<void> Store::record_loaded(const LoadedRecord &r) {
  if (auto d = fs_.make_dirs(dir_ + "/loaded"); !d)
    return d;
  json j = {{"name", r.name},
            {"path", r.path},
            {"vermagic", r.vermagic},
            {"target_release", r.target_release},
            {"target_build_id", r.target_build_id},
            {"boot_id", r.boot_id},
            {"loaded_at", r.loaded_at}};
  return fs_.write_file_atomic(dir_ + "/loaded/" + r.name + ".json", j.dump(2) + "\n");
}

std::optional<LoadedRecord> Store::loaded_record(const std::string &name) {
  auto text = fs_.read(dir_ + "/loaded/" + name + ".json");
  if (!text)
    return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  LoadedRecord r{str_of(j, "name"),          str_of(j, "path"),    str_of(j, "vermagic"),
                 str_of(j, "target_release"), str_of(j, "target_build_id"), str_of(j, "boot_id"),
                 str_of(j, "loaded_at")};
  if (r.name != name || r.boot_id != boot_id_)
    return std::nullopt;
  return r;
}

void Store::forget_loaded(const std::string &name) { (void)fs_.remove_file(dir_ + "/loaded/" + name + ".json"); }

} // namespace kpg::load
