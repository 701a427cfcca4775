// SPDX-License-Identifier: GPL-2.0-only
#include "tuf/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "support/file.h"

namespace kpg::tuf {

FetchResult FileFetcher::fetch(const std::string &url, u64 max_length) {
  std::string path = url.starts_with("file://") ? url.substr(7) : url;
  // Undo the percent-encoding url_encode_path() applied.
  std::string decoded;
  for (size_t i = 0; i < path.size(); i++) {
    if (path[i] == '%' && i + 2 < path.size()) {
      decoded += static_cast<char>(std::stoi(path.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      decoded += path[i];
    }
  }
  FetchResult r;
  int fd = ::open(decoded.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.status = errno == ENOENT ? FetchStatus::NotFound : FetchStatus::Failed;
    r.message = std::string(std::strerror(errno));
    return r;
  }
  u8 buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      r.message = std::string("read error: ") + std::strerror(errno);
      ::close(fd);
      return r;
    }
    if (n == 0)
      break;
    if (r.data.size() + static_cast<size_t>(n) > max_length) {
      r.data.insert(r.data.end(), buf, buf + (max_length - r.data.size()));
      r.status = FetchStatus::TooLarge;
      ::close(fd);
      return r;
    }
    r.data.insert(r.data.end(), buf, buf + n);
  }
  ::close(fd);
  r.status = FetchStatus::Ok;
  return r;
}

std::optional<std::string> DirStore::read(const std::string &name) {
  auto t = read_text_file(dir_ + "/" + name);
  if (!t)
    return std::nullopt;
  return std::move(*t);
}

Expected<void> DirStore::write(const std::string &name, const std::string &data) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  return write_text_file_atomic(dir_ + "/" + name, data, 0644);
}

Expected<void> DirStore::remove(const std::string &name) {
  std::string p = dir_ + "/" + name;
  if (::unlink(p.c_str()) != 0 && errno != ENOENT)
    return make_error(Location(p), std::string("cannot remove: ") + std::strerror(errno));
  return {};
}

} // namespace kpg::tuf
