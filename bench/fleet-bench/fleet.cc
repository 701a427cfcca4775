// SPDX-License-Identifier: GPL-2.0-only
//
// Fleet simulation: N kpatch-agents polling one repository (nginx on loopback, started by
// bench/fleet). Each agent is the real agent code (tools/kpatch-agent) with the real libcurl
// fetcher, on its own simulated kernel below its own fake root (the loader's unit-test
// FakeKernel: sysfs/procfs files, module loading and transitions simulated). Prints:
//
//   1. the first apply of level 1 by every agent;
//   2. one poll per agent with nothing new: requests and bytes per poll (the agents' count
//      of bodies, and nginx's access log with headers);
//   3. level 2 published while every agent polls every --interval-ms (first poll at a random
//      offset): the time until every agent runs level 2.
//
//   fleet-bench --url URL --repo DIR --keys DIR --access-log FILE [--agents 200] [--interval-ms 2000]
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent.h"
#include "fake_kernel.h"
#include "repo/publish.h"
#include "test_util.h"
#include "tuf/crypto.h"
#include "tuf/curl_fetcher.h"

using namespace kpg;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct QuietReporter final : load::Reporter {
  void step(const std::string &) override {}
  void note(const std::string &) override {}
  void warn(const std::string &) override {}
  void progress(const load::Progress &) override {}
  void stalled(const load::StallReport &) override {}
};

struct Machine {
  load::test::TempDir root;
  std::unique_ptr<load::test::FakeKernel> kernel;
  tuf::CurlFetcher fetcher;
  QuietReporter rep;
  agent::AgentConfig cfg;
  double converged_ms = -1;
  u32 polls = 0;

  agent::Result run_once() {
    load::Host host{*kernel, *kernel, *kernel};
    agent::Context ctx{host, rep, fetcher, cfg, agent::kDefaultConfigPath, "/var/lib/kpatch-gen",
                       static_cast<i64>(std::time(nullptr))};
    polls++;
    return agent::run(ctx);
  }
};

struct LogCount {
  u64 requests = 0, bytes = 0;
};
// nginx's access log lines "METHOD URI STATUS BYTES_SENT" after byte offset `from`.
LogCount count_log(const std::string &path, std::streamoff from, std::streamoff *end) {
  std::ifstream in(path);
  in.seekg(from);
  LogCount c;
  std::string method, uri;
  int status;
  u64 bytes;
  while (in >> method >> uri >> status >> bytes) {
    c.requests++;
    c.bytes += bytes;
  }
  in.clear();
  in.seekg(0, std::ios::end);
  *end = in.tellg();
  return c;
}

patchrepo::Level publish(tuf::Repository &repo, const std::string &mods, const std::string &name,
                         const std::string &cve) {
  std::string ko = load::test::build_module(mods, name, load::test::good_modinfo(name));
  std::ifstream in(ko, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json report = {{"format", "kpatch-gen-module/1"}, {"name", name}, {"replace", true},
                           {"description", "fleet bench " + name}, {"cves", {cve}},
                           {"target", {{"release", load::test::kRelease}, {"build_id", load::test::kBuildId}}},
                           {"sha256", tuf::sha256_hex(bytes)}};
  std::ofstream(mods + "/" + name + ".json") << report.dump();
  auto r = repo::read_module_report(mods + "/" + name + ".json");
  auto l = repo::add_level(repo, ko, *r, {}, static_cast<i64>(std::time(nullptr)));
  if (!l) {
    std::fprintf(stderr, "fleet-bench: %s\n", l.error().str().c_str());
    std::exit(1);
  }
  return *l;
}

// Runs fn(i) for every machine on its own thread.
template <typename F> void all(std::vector<std::unique_ptr<Machine>> &m, F fn) {
  std::vector<std::thread> threads;
  for (size_t i = 0; i < m.size(); i++)
    threads.emplace_back([&, i] { fn(*m[i], i); });
  for (std::thread &t : threads)
    t.join();
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"fleet-bench: many kpatch-agents polling one repository (see bench/fleet)"};
  std::string url, repo_dir, keys, access_log;
  u32 agents = 200;
  u32 interval_ms = 2000;
  app.add_option("--url", url)->required();
  app.add_option("--repo", repo_dir)->required();
  app.add_option("--keys", keys)->required();
  app.add_option("--access-log", access_log)->required();
  app.add_option("--agents", agents);
  app.add_option("--interval-ms", interval_ms);
  CLI11_PARSE(app, argc, argv);

  auto r = tuf::Repository::open(repo_dir, keys);
  if (!r) {
    std::fprintf(stderr, "fleet-bench: %s\n", r.error().str().c_str());
    return 1;
  }
  load::test::TempDir mods;
  publish(*r, mods.path(), "fleet_l1", "CVE-2026-0001:7.5");
  std::string root_json;
  {
    std::ifstream in(repo_dir + "/metadata/1.root.json");
    root_json.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::vector<std::unique_ptr<Machine>> fleet;
  for (u32 i = 0; i < agents; i++) {
    auto m = std::make_unique<Machine>();
    m->kernel = std::make_unique<load::test::FakeKernel>(m->root.path());
    m->cfg.repository = url;
    m->cfg.metadata_url = url + "/metadata";
    m->cfg.targets_url = url + "/targets";
    m->cfg.retries = 0;
    m->kernel->write_tree_file(m->cfg.trusted_root, root_json);
    fleet.push_back(std::move(m));
  }
  std::printf("fleet-bench: %u agents, each on a simulated kernel below its own fake root, polling %s\n", agents,
              url.c_str());

  std::streamoff mark = 0;
  count_log(access_log, 0, &mark);
  auto t1 = Clock::now();
  std::atomic<int> failures{0};
  all(fleet, [&](Machine &m, size_t) {
    agent::Result res = m.run_once();
    if (res.code != agent::Exit::Ok || res.report.applied != 1u)
      failures++;
  });
  LogCount first = count_log(access_log, mark, &mark);
  std::printf("first poll (install level 1):  %7.0f ms for all, %u failed; %.1f requests and %.0f bytes per agent "
              "(nginx, headers included)\n",
              ms_since(t1), failures.load(), static_cast<double>(first.requests) / agents,
              static_cast<double>(first.bytes) / agents);

  // 2. Nothing new.
  std::atomic<u64> requests{0}, body_bytes{0};
  auto t2 = Clock::now();
  all(fleet, [&](Machine &m, size_t) {
    agent::Result res = m.run_once();
    requests += res.report.stats.requests;
    body_bytes += res.report.stats.bytes;
    if (res.code != agent::Exit::Ok || res.report.applied)
      failures++;
  });
  double idle_ms = ms_since(t2);
  LogCount idle = count_log(access_log, mark, &mark);
  std::printf("idle poll (nothing new):       %.2f requests and %.0f body bytes per poll (agents' count); "
              "%.2f requests and %.0f bytes per poll on the wire (nginx, headers included); %.0f ms for all %u "
              "agents at once\n",
              static_cast<double>(requests) / agents, static_cast<double>(body_bytes) / agents,
              static_cast<double>(idle.requests) / agents, static_cast<double>(idle.bytes) / agents, idle_ms, agents);

  // 3. A newly promoted level.
  std::mt19937 rng(42);
  std::vector<u32> offsets(agents);
  for (u32 &o : offsets)
    o = std::uniform_int_distribution<u32>(0, interval_ms - 1)(rng);
  publish(*r, mods.path(), "fleet_l2", "CVE-2026-0002:9.8");
  auto t0 = Clock::now();
  all(fleet, [&](Machine &m, size_t i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(offsets[i]));
    for (int round = 0; round < 30; round++) {
      auto start = Clock::now();
      agent::Result res = m.run_once();
      if (res.report.installed == 2u) {
        m.converged_ms = ms_since(t0);
        return;
      }
      std::this_thread::sleep_until(start + std::chrono::milliseconds(interval_ms));
    }
  });
  LogCount conv = count_log(access_log, mark, &mark);
  std::vector<double> times;
  for (auto &m : fleet)
    if (m->converged_ms >= 0)
      times.push_back(m->converged_ms);
  std::sort(times.begin(), times.end());
  auto pct = [&](double p) { return times.empty() ? -1.0 : times[std::min(times.size() - 1, size_t(p * times.size()))]; };
  std::printf("new level 2, polls every %u ms: %zu/%u agents converged; time to level 2 live: median %.0f ms, "
              "p95 %.0f ms, all %.0f ms; %.1f requests and %.0f bytes per agent\n",
              interval_ms, times.size(), agents, pct(0.5), pct(0.95), times.empty() ? -1.0 : times.back(),
              static_cast<double>(conv.requests) / agents, static_cast<double>(conv.bytes) / agents);
  return failures.load() == 0 && times.size() == agents ? 0 : 1;
}
