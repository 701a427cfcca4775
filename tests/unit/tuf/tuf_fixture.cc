// SPDX-License-Identifier: GPL-2.0-only
#include "tuf_fixture.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kpg::tuf::test {

std::string fast_temp_base() {
  if (!std::getenv("TMPDIR") && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return {};
}

FetchResult RecordingFetcher::fetch(const std::string &url, u64 max_length) {
  urls.push_back(url);
  for (auto &[suffix, fn] : overrides)
    if (url.ends_with(suffix))
      return fn(url, max_length);
  return files.fetch(url, max_length);
}

std::string read(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const std::string &path, const std::string &data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::span<const u8> bytes(const std::string &s) {
  return std::span<const u8>(reinterpret_cast<const u8 *>(s.data()), s.size());
}

void TufTest::SetUp() {
  auto r = Repository::init(repo_dir, key_dir, InitOptions{}, kT0);
  ASSERT_TRUE(r) << r.error().str();
  repo.emplace(std::move(*r));
  write(client_dir + "/root.json", read(md("1.root.json")));
}

Updater TufTest::updater(i64 now) {
  return Updater(fetcher, store, "file://" + repo_dir + "/metadata", "file://" + repo_dir + "/targets", now);
}

TargetFile TufTest::publish_target(const std::string &path, const std::string &data, i64 now) {
  auto t = repo->add_target(path, bytes(data), json{{"note", "test"}});
  EXPECT_TRUE(t) << t.error().str();
  auto p = repo->publish(now);
  EXPECT_TRUE(p) << p.error().str();
  return *t;
}

Ed25519Key TufTest::key(const std::string &keyid) const {
  auto k = Ed25519Key::from_private_pem(read(key_dir + "/" + keyid + ".pem"), Location(keyid));
  EXPECT_TRUE(k) << k.error().str();
  return std::move(*k);
}

std::vector<SigningKey> TufTest::role_keys(const std::string &role, std::vector<Ed25519Key> &holder) const {
  std::vector<SigningKey> out;
  const std::vector<std::string> &ids = repo->root().roles.at(role).keyids;
  holder.reserve(ids.size());
  for (const std::string &id : ids)
    holder.push_back(key(id));
  for (size_t i = 0; i < ids.size(); i++)
    out.push_back({ids[i], &holder[i]});
  return out;
}

void TufTest::forge(const std::string &name, const json &signed_value, const std::string &role) {
  std::vector<Ed25519Key> holder;
  auto data = sign_metadata(signed_value, role_keys(role, holder));
  ASSERT_TRUE(data) << data.error().str();
  write(md(name), *data);
}

json TufTest::signed_of(const std::string &name) const {
  return json::parse(read(md(name)))["signed"];
}

} // namespace kpg::tuf::test
