// SPDX-License-Identifier: GPL-2.0-only
#include "builder/process.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "support/file.h"

extern char **environ;

namespace kpg::build {

std::string command_line(const Command &c) {
  std::string s;
  for (const std::string &a : c.argv) {
    if (!s.empty())
      s += ' ';
    s += a.find_first_of(" \t\"'") == std::string::npos ? a : "'" + a + "'";
  }
  return s;
}

Expected<Running> start(const Command &c) {
  if (c.argv.empty())
    return make_error(Location("process"), "empty command");
  int logfd = -1;
  if (!c.log.empty()) {
    logfd = ::open(c.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0)
      return make_error(Location(c.log), fmt::format("cannot open log: {}", std::strerror(errno)));
  }
  std::vector<char *> argv;
  for (const std::string &a : c.argv)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> envs;
  for (char **e = environ; *e; e++)
    envs.emplace_back(*e);
  for (const std::string &e : c.env) {
    std::string name = e.substr(0, e.find('='));
    std::erase_if(envs, [&](const std::string &x) { return x.rfind(name + "=", 0) == 0; });
    envs.push_back(e);
  }
  std::vector<char *> envp;
  for (std::string &e : envs)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    if (logfd >= 0)
      ::close(logfd);
    return make_error(Location(c.argv[0]), fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    if (logfd >= 0) {
      ::dup2(logfd, 1);
      ::dup2(logfd, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, 0);
    if (!c.cwd.empty() && ::chdir(c.cwd.c_str()) != 0)
      ::_exit(127);
    ::execvpe(argv[0], argv.data(), envp.data());
    std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  if (logfd >= 0)
    ::close(logfd);
  return Running{pid, c};
}

int wait(const Running &r) {
  int status = 0;
  while (::waitpid(r.pid, &status, 0) < 0)
    if (errno != EINTR)
      return 127;
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 127;
}

Expected<int> run(const Command &c) {
  auto r = start(c);
  if (!r)
    return std::move(r).take_error();
  return wait(*r);
}

std::string log_tail(const std::string &log, int lines) {
  auto t = read_text_file(log);
  if (!t)
    return {};
  std::vector<std::string> v;
  std::istringstream in(*t);
  std::string l;
  while (std::getline(in, l))
    v.push_back(l);
  std::string out;
  for (size_t i = v.size() > static_cast<size_t>(lines) ? v.size() - lines : 0; i < v.size(); i++)
    out += "    " + v[i] + "\n";
  return out;
}

Expected<std::string> capture(const std::vector<std::string> &argv) {
  char tmpl[] = "/tmp/kpg-capture.XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0)
    return make_error(Location(argv[0]), "mkstemp failed");
  ::close(fd);
  Command c;
  c.argv = argv;
  c.log = tmpl;
  auto rc = run(c);
  auto text = read_text_file(tmpl);
  ::unlink(tmpl);
  if (!rc)
    return std::move(rc).take_error();
  if (*rc != 0 || !text)
    return make_error(Location(argv[0]), fmt::format("'{}' failed with status {}", command_line(c), *rc));
  std::string first = text->substr(0, text->find('\n'));
  return first;
}

} // namespace kpg::build
