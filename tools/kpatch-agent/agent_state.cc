// SPDX-License-Identifier: GPL-2.0-only
#include "agent_state.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace kpg::agent {

using nlohmann::json;

std::string build_key(const std::string &release, const std::string &build_id) { return release + "/" + build_id; }

static std::optional<u32> level_key(const std::string &k) {
  if (k.empty() || k.size() > 7 || !std::all_of(k.begin(), k.end(), ::isdigit))
    return std::nullopt;
  return static_cast<u32>(std::stoul(k));
}

Expected<AgentState> read_state(load::Fs &fs, const std::string &state_dir) {
  AgentState st;
  const std::string path = state_dir + "/state.json";
  if (!fs.exists(path))
    return st;
  auto text = fs.read(path);
  if (!text)
    return std::move(text).take_error();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(Location(path), "not valid JSON; remove it to start over (the installed patches are kept by "
                                      "kpatch-load and are not affected)");
  auto str = [](const json &o, const char *k) {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (auto b = j.find("builds"); b != j.end() && b->is_object()) {
    for (auto it = b->begin(); it != b->end(); ++it) {
      BuildState bs;
      const json &o = it.value();
      if (auto m = o.find("modules"); m != o.end() && m->is_object())
        for (auto e = m->begin(); e != m->end(); ++e)
          if (auto l = level_key(e.key()); l && e.value().is_string())
            bs.modules[*l] = e.value().get<std::string>();
      if (auto f = o.find("failed"); f != o.end() && f->is_object())
        for (auto e = f->begin(); e != f->end(); ++e)
          if (auto l = level_key(e.key()); l && e.value().is_string())
            bs.failed[*l] = e.value().get<std::string>();
      if (auto r = o.find("rolled_back"); r != o.end() && r->is_array())
        for (const json &e : *r)
          if (e.is_number_unsigned())
            bs.rolled_back.insert(e.get<u32>());
      st.builds[it.key()] = bs;
    }
  }
  st.last_check = str(j, "last_check");
  st.last_result = str(j, "last_result");
  st.last_message = str(j, "last_message");
  if (auto c = j.find("consecutive_failures"); c != j.end() && c->is_number_unsigned())
    st.consecutive_failures = c->get<u32>();
  if (auto n = j.find("next_try"); n != j.end() && n->is_number_integer())
    st.next_try = n->get<i64>();
  return st;
}

Expected<void> write_state(load::Fs &fs, const std::string &state_dir, const AgentState &st) {
  json builds = json::object();
  for (const auto &[key, bs] : st.builds) {
    json modules = json::object(), failed = json::object();
    for (const auto &[l, m] : bs.modules)
      modules[std::to_string(l)] = m;
    for (const auto &[l, why] : bs.failed)
      failed[std::to_string(l)] = why;
    builds[key] = {{"modules", modules}, {"failed", failed}, {"rolled_back", bs.rolled_back}};
  }
  json j = {{"format", "kpatch-agent-state/1"},
            {"builds", builds},
            {"last_check", st.last_check},
            {"last_result", st.last_result},
            {"last_message", st.last_message},
            {"consecutive_failures", st.consecutive_failures},
            {"next_try", st.next_try}};
  if (auto d = fs.make_dirs(state_dir); !d)
    return d;
  return fs.write_file_atomic(state_dir + "/state.json", j.dump(2) + "\n");
}

} // namespace kpg::agent
