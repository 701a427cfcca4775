// SPDX-License-Identifier: GPL-2.0-only
//
// `kpatch-agent install`: everything a machine needs to follow a repository, written below
// the root like every other file the agent touches:
//
//   /etc/kpatch-gen/agent.conf                      unless it exists (--force replaces it)
//   /etc/kpatch-gen/root.json                       the repository's root, given by the admin:
//                                                   the trust anchor (pinned: later roots must
//                                                   be signed by it, through the chain)
//   /etc/systemd/system/kpatch-agent.service        `kpatch-agent run`, oneshot
//   /etc/systemd/system/kpatch-agent.timer          OnUnitActiveSec = the configured interval
//                                                   (OnBootSec, RandomizedDelaySec and
//                                                   AccuracySec capped by it: timer_unit)
//   /etc/systemd/system/timers.target.wants/kpatch-agent.timer -> ../kpatch-agent.timer
//
// The enablement symlink is what `systemctl enable` creates, so the timer runs from the next
// boot on even in an image that is not booted yet. On a running systemd (the root is `/` and
// /run/systemd/system exists) `systemctl daemon-reload` and `systemctl start` make it run now.
// The unit text is the repository's tools/kpatch-agent/*.{service,timer}, compiled in.
#pragma once
#include <string>

#include "agent.h"

namespace kpg::agent {

struct SetupOptions {
  AgentConfig cfg;            // repository, channel... as given on the command line
  std::string root_file;      // host path of the repository's root.json
  std::string exec_path;      // the binary the service runs
  bool force = false;         // replace an existing configuration
  bool start_now = true;      // daemon-reload + start when systemd runs (root "/" only)
};

Result setup(Context &ctx, const SetupOptions &opts);

std::string service_unit(const std::string &exec_path);
std::string timer_unit(i64 interval_seconds);

} // namespace kpg::agent
