// SPDX-License-Identifier: GPL-2.0-only
#include "agent_setup.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "tuf/metadata.h"
#include "units.inc" // kServiceUnit, kTimerUnit: the unit files of tools/kpatch-agent/

namespace kpg::agent {

static std::string replace_line(const std::string &text, const std::string &prefix, const std::string &line) {
  std::istringstream in(text);
  std::string l, out;
  while (std::getline(in, l))
    out += (l.starts_with(prefix) ? line : l) + "\n";
  return out;
}

std::string service_unit(const std::string &exec_path) {
  return replace_line(kServiceUnit, "ExecStart=", "ExecStart=" + exec_path + " run");
}

// The unit file's OnBootSec (5min), RandomizedDelaySec (15min) and AccuracySec (systemd's
// default, 1min) suit the default 6 h interval. With a short interval they would dominate it:
// with `--interval 10s` the first poll would come 5 to 20 minutes after boot and every later
// one up to a minute late. So each is capped by the interval (the first poll at most one
// interval after boot, the random delay and the accuracy a tenth of it); the 6 h default
// keeps the unit file's values.
std::string timer_unit(i64 interval) {
  auto dur = [](i64 s) { return s == 0 ? std::string("0") : format_duration(s); };
  std::string t = replace_line(kTimerUnit, "OnUnitActiveSec=", "OnUnitActiveSec=" + dur(interval));
  t = replace_line(t, "OnBootSec=", "OnBootSec=" + dur(std::min<i64>(5 * 60, interval)));
  t = replace_line(t, "RandomizedDelaySec=", "RandomizedDelaySec=" + dur(std::min<i64>(15 * 60, interval / 10)));
  return replace_line(t, "AccuracySec=", "AccuracySec=" + dur(std::clamp<i64>(interval / 10, 1, 60)));
}

Result setup(Context &ctx, const SetupOptions &o) {
  Result res;
  load::Fs &fs = ctx.host.fs;
  // The root file must be a valid, self-signed TUF root: a wrong file here would make every
  // later poll fail with a message far from its cause.
  auto text = load::read_host_file(o.root_file);
  if (!text) {
    res.fail(Exit::Usage, text.error().str());
    return res;
  }
  auto env = tuf::parse_envelope(*text, Location(o.root_file));
  auto root = env ? tuf::parse_root(env->signed_value, Location(o.root_file)) : Expected<tuf::Root>(env.error());
  if (!root) {
    res.fail(Exit::Usage, fmt::format("{}: not a TUF root metadata file: {}", o.root_file, root.error().message));
    return res;
  }
  if (auto v = tuf::verify_threshold(*env, root->keys, root->roles.at("root"), "root", Location(o.root_file)); !v) {
    res.fail(Exit::Usage, v.error().str());
    return res;
  }
  const std::string conf_dir = std::filesystem::path(ctx.config_path).parent_path().string();
  const bool have_conf = fs.exists(ctx.config_path);
  if (have_conf && !o.force) {
    ctx.rep.note(fmt::format("{} exists: kept (--force replaces it)", ctx.config_path));
  } else {
    if (auto d = fs.make_dirs(conf_dir); !d) {
      res.fail(Exit::Error, d.error().str());
      return res;
    }
    if (auto w = fs.write_file_atomic(ctx.config_path, default_config_text(o.cfg)); !w) {
      res.fail(Exit::Error, w.error().str());
      return res;
    }
    ctx.rep.step(fmt::format("wrote {}", ctx.config_path));
  }
  // The configuration in force (possibly the existing one) says where the root goes.
  AgentConfig cfg = o.cfg;
  if (have_conf && !o.force) {
    auto t = fs.read(ctx.config_path);
    auto c = t ? parse_config(*t, ctx.config_path) : Expected<AgentConfig>(t.error());
    if (!c) {
      res.fail(Exit::Usage, c.error().str());
      return res;
    }
    cfg = *c;
  }
  if (auto d = fs.make_dirs(std::filesystem::path(cfg.trusted_root).parent_path().string()); !d) {
    res.fail(Exit::Error, d.error().str());
    return res;
  }
  if (auto w = fs.write_file_atomic(cfg.trusted_root, *text); !w) {
    res.fail(Exit::Error, w.error().str());
    return res;
  }
  ctx.rep.step(fmt::format("trusted root: {} (root version {}, {} root key(s), threshold {})", cfg.trusted_root,
                           root->version, root->roles.at("root").keyids.size(), root->roles.at("root").threshold));
  const std::string units = "/etc/systemd/system";
  if (auto d = fs.make_dirs(units + "/timers.target.wants"); !d) {
    res.fail(Exit::Error, d.error().str());
    return res;
  }
  for (auto [name, content] : {std::pair<std::string, std::string>{"kpatch-agent.service", service_unit(o.exec_path)},
                               {"kpatch-agent.timer", timer_unit(cfg.interval)}}) {
    if (auto w = fs.write_file_atomic(units + "/" + name, content); !w) {
      res.fail(Exit::Error, w.error().str());
      return res;
    }
  }
  // What `systemctl enable` does for WantedBy=timers.target.
  std::string link = fs.host_path(units + "/timers.target.wants/kpatch-agent.timer");
  std::error_code ec;
  std::filesystem::remove(link, ec);
  std::filesystem::create_symlink("../kpatch-agent.timer", link, ec);
  if (ec) {
    res.fail(Exit::Error, fmt::format("{}: cannot enable the timer: {}", link, ec.message()));
    return res;
  }
  ctx.rep.step(fmt::format("installed and enabled kpatch-agent.timer (every {}) and kpatch-agent.service (runs {} run)",
                           format_duration(cfg.interval), o.exec_path));
  if (o.start_now && fs.host_path("/") == "/" && fs.is_dir("/run/systemd/system")) {
    int rc = std::system("systemctl daemon-reload && systemctl start kpatch-agent.timer");
    if (rc != 0)
      ctx.rep.warn("systemctl daemon-reload / start kpatch-agent.timer failed; the timer starts at the next boot");
    else
      ctx.rep.step("started kpatch-agent.timer");
  }
  if (!fs.exists("/etc/systemd/system/multi-user.target.wants/kpatch-gen.service") &&
      !fs.exists("/etc/systemd/system/sysinit.target.wants/kpatch-gen.service"))
    ctx.rep.note("kpatch-gen.service (kpatch-load's boot unit) does not look enabled: without it, installed patch levels "
                 "are loaded by the timer's first poll after boot instead of early in boot");
  return res;
}

} // namespace kpg::agent
