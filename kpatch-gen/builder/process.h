// SPDX-License-Identifier: GPL-2.0-only
// Running external tools (make, patch, gcc) without a shell: argv in, exit status out,
// output captured to a log file so that a failure can show its tail.
#pragma once
#include <string>
#include <vector>

#include "support/error.h"

namespace kpg::build {

struct Command {
  std::vector<std::string> argv;
  std::string cwd;      // empty: inherit
  std::string log;      // stdout+stderr appended here; empty: inherit the terminal
  std::vector<std::string> env; // extra NAME=VALUE entries
};

struct Running {
  int pid = -1;
  Command cmd;
};

Expected<Running> start(const Command &c);
// Waits; returns the exit status (128+signal when killed).
int wait(const Running &r);
// start + wait.
Expected<int> run(const Command &c);
// The last `lines` lines of a log file (for error messages).
std::string log_tail(const std::string &log, int lines = 25);
// "make -C ... O=... fs/proc/cmdline.o" for messages.
std::string command_line(const Command &c);
// First line of a command's output (e.g. `gcc --version`), or an error.
Expected<std::string> capture(const std::vector<std::string> &argv);

} // namespace kpg::build
