// SPDX-License-Identifier: GPL-2.0-only
#include "support/file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace kpg {

static Error sys_error(const std::string &path, const char *what) {
  return make_error(Location(path), fmt::format("{}: {}", what, std::strerror(errno)));
}

Expected<std::vector<u8>> read_file(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sys_error(path, "cannot open");
  std::vector<u8> buf;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0)
    buf.reserve(static_cast<size_t>(st.st_size));
  u8 chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      Error e = sys_error(path, "cannot read");
      ::close(fd);
      return e;
    }
    if (n == 0)
      break;
    buf.insert(buf.end(), chunk, chunk + n);
  }
  ::close(fd);
  return buf;
}

Expected<std::string> read_text_file(const std::string &path) {
  auto b = read_file(path);
  if (!b)
    return std::move(b).take_error();
  return std::string(b->begin(), b->end());
}

Expected<void> write_file_atomic(const std::string &path, std::span<const u8> data, unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return sys_error(tmp, "cannot create");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      Error e = sys_error(tmp, "cannot write");
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Error e = sys_error(tmp, "cannot flush");
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = sys_error(path, "cannot rename temporary file into place");
    ::unlink(tmp.c_str());
    return e;
  }
  return {};
}

Expected<void> write_text_file_atomic(const std::string &path, const std::string &text, unsigned mode) {
  return write_file_atomic(path, std::span<const u8>(reinterpret_cast<const u8 *>(text.data()), text.size()), mode);
}

Expected<FileLock> FileLock::open(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return sys_error(path, "cannot open lock file");
  FileLock l(fd);
  l.path_ = path;
  return l;
}

Expected<void> FileLock::lock(bool wait) {
  while (::flock(fd_, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR)
      continue;
    return sys_error(path_, errno == EWOULDBLOCK ? "held by another process" : "cannot lock");
  }
  return {};
}

Expected<FileLock> FileLock::try_acquire(const std::string &path) {
  auto l = open(path);
  if (!l)
    return l;
  if (auto r = l->lock(false); !r)
    return std::move(r).take_error();
  return l;
}

FileLock &FileLock::operator=(FileLock &&o) noexcept {
  if (this != &o) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0)
    ::close(fd_); // closing the last descriptor of the open file description releases the flock
}

} // namespace kpg
