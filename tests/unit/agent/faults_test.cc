// SPDX-License-Identifier: GPL-2.0-only
// Bad input and faults (issue 11), one test each: the agent refuses, keeps the current patch,
// says why in one line, and leaves nothing half-written or half-loaded.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "agent_fixture.h"
#include "support/file.h"
#include "tuf/metadata.h"

namespace kpg::agent::test {
namespace {

struct Faults : AgentTest {
  void SetUp() override {
    AgentTest::SetUp();
    l1 = publish("lp_l1");
    Result r = apply();
    ASSERT_EQ(r.code, Exit::Ok) << errors(r);
  }
  // Level 1 is live and installed, and stays so.
  void expect_level_one_kept() {
    EXPECT_TRUE(k.patch_enabled("lp_l1"));
    EXPECT_EQ(installed_stack(), std::vector<std::string>{"lp_l1"});
  }
  void write_file(const std::string &path, const std::string &data) { std::ofstream(path, std::ios::binary) << data; }
  std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // Re-signs `signed_value` as metadata/<name> with the repository's real `role` key.
  void forge(const std::string &name, const nlohmann::json &signed_value, const std::string &role) {
    std::string id = repo->root().roles.at(role).keyids[0];
    auto key = tuf::Ed25519Key::from_private_pem(read_file(work.path() + "/keys/" + id + ".pem"), Location(id));
    ASSERT_TRUE(key);
    auto data = tuf::sign_metadata(signed_value, {{id, &*key}});
    ASSERT_TRUE(data);
    write_file(repo_dir() + "/metadata/" + name, *data);
  }
  nlohmann::json signed_of(const std::string &name) {
    return nlohmann::json::parse(read_file(repo_dir() + "/metadata/" + name))["signed"];
  }
  patchrepo::Level l1;
};

TEST_F(Faults, ATamperedModuleIsRefused) {
  patchrepo::Level l2 = publish("lp_l2");
  std::string bytes = read_file(target_file(l2));
  bytes[bytes.size() / 2] ^= 0x20;
  write_file(target_file(l2), bytes);
  Result r = run();
  EXPECT_EQ(r.code, Exit::Refused);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("level 2: module rejected:"), std::string::npos) << r.errors[0];
  EXPECT_NE(r.errors[0].find("(tampered or corrupted); keeping level 1"), std::string::npos) << r.errors[0];
  EXPECT_FALSE(k.module_loaded("lp_l2"));
  expect_level_one_kept();
  // Not recorded as failed: a mirror serving bad bytes may be fixed; the next poll retries.
  EXPECT_TRUE(state().builds.begin()->second.failed.empty());
}

TEST_F(Faults, AModuleOfAnotherLengthIsRefused) {
  patchrepo::Level l2 = publish("lp_l2");
  write_file(target_file(l2), read_file(target_file(l2)) + "trailing bytes");
  Result r = run();
  EXPECT_EQ(r.code, Exit::Refused);
  EXPECT_NE(errors(r).find("longer than the"), std::string::npos) << errors(r);
  expect_level_one_kept();
}

TEST_F(Faults, TamperedMetadataIsRefused) {
  publish("lp_l2", {.cves = {"CVE-2026-0002:9.8"}});
  std::string name = std::to_string(repo->targets().version) + ".targets.json";
  std::string t = read_file(repo_dir() + "/metadata/" + name);
  t.replace(t.find("9.8"), 3, "1.0"); // lower the score a policy would act on
  write_file(repo_dir() + "/metadata/" + name, t);
  Result r = run();
  EXPECT_EQ(r.code, Exit::Refused);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("repository metadata rejected:"), std::string::npos) << r.errors[0];
  EXPECT_NE(r.errors[0].find("keeping level 1"), std::string::npos);
  expect_level_one_kept();
}

TEST_F(Faults, MetadataResignedWithAWrongKeyIsRefused) {
  publish("lp_l2");
  auto wrong = tuf::Ed25519Key::generate();
  ASSERT_TRUE(wrong);
  nlohmann::json ts = signed_of("timestamp.json");
  ts["version"] = ts["version"].get<u64>() + 1;
  auto data = tuf::sign_metadata(ts, {{repo->root().roles.at("timestamp").keyids[0], &*wrong}});
  ASSERT_TRUE(data);
  write_file(repo_dir() + "/metadata/timestamp.json", *data);
  Result r = run();
  EXPECT_EQ(r.code, Exit::Refused);
  EXPECT_NE(errors(r).find("timestamp role: valid signatures of 0 of the 1 required key(s)"), std::string::npos)
      << errors(r);
  expect_level_one_kept();
}

TEST_F(Faults, AnExpiredTimestampIsRefused) {
  publish("lp_l2");
  now = kT0 + 2 * 86400; // the repository stopped re-signing a day ago
  Result r = run();
  EXPECT_EQ(r.code, Exit::Refused);
  EXPECT_NE(errors(r).find("the timestamp metadata expired at 2026-01-02T00:00:00Z"), std::string::npos) << errors(r);
  EXPECT_FALSE(k.module_loaded("lp_l2"));
  expect_level_one_kept();
}

TEST_F(Faults, AnOlderTimestampIsRefused) {
  const std::string old = read_file(repo_dir() + "/metadata/timestamp.json");
  publish("lp_l2");
  ASSERT_EQ(check().code, Exit::Ok);
  write_file(repo_dir() + "/metadata/timestamp.json", old);
  Result r = run();
  EXPECT_EQ(r.code, Exit::Refused);
  EXPECT_NE(errors(r).find("is older than the trusted version"), std::string::npos) << errors(r);
  expect_level_one_kept();
}

TEST_F(Faults, AnOlderSnapshotVersionIsRefused) {
  publish("lp_l2");
  ASSERT_EQ(check().code, Exit::Ok);
  nlohmann::json ts = signed_of("timestamp.json");
  ts["version"] = ts["version"].get<u64>() + 1;
  ts["meta"]["snapshot.json"] = {{"version", repo->snapshot().version - 1}};
  forge("timestamp.json", ts, "timestamp");
  Result r = run();
  EXPECT_EQ(r.code, Exit::Refused);
  EXPECT_NE(errors(r).find("(rollback attack)"), std::string::npos) << errors(r);
  expect_level_one_kept();
}

TEST_F(Faults, AnOlderTargetsVersionIsRefused) {
  publish("lp_l2");
  ASSERT_EQ(check().code, Exit::Ok);
  const u64 sv = repo->snapshot().version + 1;
  nlohmann::json sn = signed_of(std::to_string(repo->snapshot().version) + ".snapshot.json");
  sn["version"] = sv;
  sn["meta"]["targets.json"] = {{"version", repo->targets().version - 1}};
  forge(std::to_string(sv) + ".snapshot.json", sn, "snapshot");
  nlohmann::json ts = signed_of("timestamp.json");
  ts["version"] = ts["version"].get<u64>() + 1;
  ts["meta"]["snapshot.json"] = {{"version", sv}};
  forge("timestamp.json", ts, "timestamp");
  Result r = run();
  EXPECT_EQ(r.code, Exit::Refused);
  EXPECT_NE(errors(r).find("lists targets.json version"), std::string::npos) << errors(r);
  expect_level_one_kept();
}

TEST_F(Faults, AModuleForAnotherKernelIsRefusedAndNotRetried) {
  // The metadata says this kernel build; the module itself was built for another one.
  publish("lp_l2", {.modinfo = load::test::with(load::test::good_modinfo("lp_l2"), "kpg_target_build_id",
                                              "ffffffffffffffffffffffffffffffffffffffff")});
  Result r = run();
  EXPECT_EQ(r.code, Exit::Refused);
  EXPECT_NE(errors(r).find("build ID"), std::string::npos) << errors(r);
  EXPECT_FALSE(k.module_loaded("lp_l2"));
  expect_level_one_kept();
  EXPECT_EQ(state().builds.begin()->second.failed.count(2), 1u);
  fetcher.urls.clear();
  Result again = run();
  EXPECT_EQ(again.code, Exit::Ok) << errors(again);
  EXPECT_FALSE(again.report.decision.chosen);
}

TEST_F(Faults, AModuleThatIsNotTheOneTheMetadataNamesIsRefused) {
  // A level whose module file is lp_other while its metadata says lp_l2.
  publish("lp_l2", {.modinfo = load::test::good_modinfo("lp_other")});
  Result r = run();
  EXPECT_EQ(r.code, Exit::Refused);
  EXPECT_NE(errors(r).find("the module is lp_other, not the lp_l2 its metadata names"), std::string::npos) << errors(r);
  expect_level_one_kept();
}

TEST_F(Faults, AnUnreachableRepositoryKeepsThePatchBacksOffAndExitsSix) {
  publish("lp_l2");
  cfg.retries = 2;
  fetcher.overrides["/timestamp.json"] = [](const std::string &, u64) {
    return tuf::FetchResult{tuf::FetchStatus::Failed, {}, "Failed to connect to 127.0.0.1 port 9: Connection refused"};
  };
  fetcher.urls.clear();
  const size_t sleeps = k.sleeps().size();
  Result r = run();
  EXPECT_EQ(r.code, Exit::Unreachable);
  ASSERT_EQ(r.errors.size(), 1u); // one clear line
  EXPECT_NE(r.errors[0].find("repository unreachable: "), std::string::npos);
  EXPECT_NE(r.errors[0].find("Connection refused; keeping level 1"), std::string::npos) << r.errors[0];
  // Retried twice within the run, 1 s then 2 s apart (the simulated clock).
  EXPECT_EQ(std::count_if(fetcher.urls.begin(), fetcher.urls.end(), [](auto &u) { return u.ends_with("/timestamp.json"); }),
            3);
  EXPECT_EQ(std::vector<i64>(k.sleeps().begin() + sleeps, k.sleeps().end()), (std::vector<i64>{1000, 2000}));
  expect_level_one_kept();
  AgentState st = state();
  EXPECT_EQ(st.consecutive_failures, 1u);
  EXPECT_EQ(st.next_try, now + 60);
  EXPECT_EQ(st.last_result, "unreachable");
  // The timer's next run, within the back-off, does not even ask.
  fetcher.urls.clear();
  now += 30;
  EXPECT_EQ(run().code, Exit::Ok);
  EXPECT_TRUE(fetcher.urls.empty());
  // After it, a second failure doubles the back-off.
  now += 31;
  EXPECT_EQ(run().code, Exit::Unreachable);
  EXPECT_EQ(state().next_try, now + 120);
  // When the repository is back, level 2 arrives and the back-off is reset.
  fetcher.overrides.clear();
  now += 121;
  Result ok = run();
  ASSERT_EQ(ok.code, Exit::Ok) << errors(ok);
  EXPECT_EQ(ok.report.applied, 2u);
  EXPECT_EQ(state().consecutive_failures, 0u);
}

TEST_F(Faults, ADownloadThatStallsLoadsNothing) {
  patchrepo::Level l2 = publish("lp_l2");
  fetcher.overrides[l2.module + ".ko"] = [](const std::string &, u64) {
    return tuf::FetchResult{tuf::FetchStatus::Failed, {},
                            "stalled or too slow after 4096 bytes: Operation too slow. Less than 1 bytes/sec "
                            "transferred the last 20 seconds"};
  };
  Result r = run();
  EXPECT_EQ(r.code, Exit::Unreachable);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("level 2: download failed:"), std::string::npos) << r.errors[0];
  EXPECT_FALSE(k.module_loaded("lp_l2"));
  EXPECT_FALSE(k.exists("/var/lib/kpatch-gen/agent/downloads/lp_l2.ko"));
  expect_level_one_kept();
  EXPECT_GT(state().next_try, now);
}

// The state directory's file system is full: every write below <state>/downloads fails the
// way write(2) does, after leaving (and removing) its temporary file.
class FullDisk final : public load::Fs {
public:
  explicit FullDisk(load::Fs &inner) : in_(inner) {}
  Expected<std::string> read(const std::string &p) override { return in_.read(p); }
  int write_attr(const std::string &p, std::string_view d) override { return in_.write_attr(p, d); }
  Expected<std::vector<std::string>> list(const std::string &p) override { return in_.list(p); }
  bool exists(const std::string &p) override { return in_.exists(p); }
  bool is_dir(const std::string &p) override { return in_.is_dir(p); }
  Expected<void> write_file_atomic(const std::string &p, const std::string &d) override {
    if (p.find("/downloads/") != std::string::npos || p.find("/var/lib/kpatch-gen/6.1") != std::string::npos)
      return make_error(Location(host_path(p) + ".tmp.1"), std::string("cannot write: ") + std::strerror(ENOSPC));
    return in_.write_file_atomic(p, d);
  }
  Expected<void> make_dirs(const std::string &p) override { return in_.make_dirs(p); }
  Expected<void> remove_file(const std::string &p) override { return in_.remove_file(p); }
  Expected<void> copy_in(const std::string &, const std::string &d) override {
    return make_error(Location(host_path(d)), std::string("cannot write: ") + std::strerror(ENOSPC));
  }
  std::string host_path(const std::string &p) const override { return in_.host_path(p); }

private:
  load::Fs &in_;
};

TEST_F(Faults, AFullDiskInstallsAndLoadsNothing) {
  publish("lp_l2");
  FullDisk full(k);
  load::Host h{full, k, k};
  Context c{h, rep, fetcher, cfg, kDefaultConfigPath, "/var/lib/kpatch-gen", now};
  Result r = agent::run(c);
  EXPECT_EQ(r.code, Exit::Error);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("level 2: cannot store the download:"), std::string::npos) << r.errors[0];
  EXPECT_NE(r.errors[0].find("No space left on device; nothing was installed, keeping level 1"), std::string::npos)
      << r.errors[0];
  EXPECT_FALSE(k.module_loaded("lp_l2"));
  expect_level_one_kept();
  for (const auto &e : std::filesystem::recursive_directory_iterator(tree.path() + "/var/lib/kpatch-gen"))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

TEST_F(Faults, AStalledTransitionIsReversedRecordedAndNotRetried) {
  publish("lp_l2");
  FakeKernel::Task sleeper{300, 300, "kpg_sleeper", {"[<0>] cmdline_proc_show+0x10/0x40"}, 0};
  sleeper.stuck_patching = true;
  k.add_task(sleeper);
  Result r = run();
  EXPECT_EQ(r.code, Exit::Reverted) << errors(r);
  EXPECT_NE(errors(r).find("level 2: lp_l2: patching transition timed out after"), std::string::npos) << errors(r);
  EXPECT_FALSE(k.module_loaded("lp_l2"));
  expect_level_one_kept(); // the loader reversed; the level is off the installed stack again
  EXPECT_EQ(state().builds.begin()->second.failed.at(2), "its transition timed out and was reversed");
  // Not retried by the timer, even once the task would let it through...
  k.set_stuck(300, false, false);
  Result again = run();
  EXPECT_EQ(again.code, Exit::Ok);
  EXPECT_FALSE(again.report.applied);
  EXPECT_FALSE(k.module_loaded("lp_l2"));
  // ...but a newer level is.
  publish("lp_l3");
  Result l3 = run();
  ASSERT_EQ(l3.code, Exit::Ok) << errors(l3);
  EXPECT_EQ(l3.report.applied, 3u);
}

} // namespace
} // namespace kpg::agent::test
