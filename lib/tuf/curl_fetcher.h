// SPDX-License-Identifier: GPL-2.0-only
//
// The fetcher of a real client, on libcurl: http://, https:// and file:// URLs (file:// lets
// a machine without a network, such as the lab's QEMU guest, read a repository from a disk).
//
// What a patch agent on thousands of machines needs from it:
//   - a hard cap on the bytes read (the TUF caps; a longer body is cut off, not buffered);
//   - stall detection: a server that stops sending mid-download (slowloris, a broken
//     middlebox) is given up after `stall_seconds` below `stall_bytes_per_second`, so a poll
//     never hangs a systemd timer;
//   - 404 and 403 reported as such (the root-rotation loop stops on them) and every other
//     failure reported in one line ("HTTP 502", "Connection refused", "stalled: ...");
//   - one connection reused for every request of a poll (HTTP keep-alive): the two requests
//     of a poll with nothing new cost one TCP handshake.
#pragma once
#include <string>

#include "tuf/client.h"

namespace kpg::tuf {

struct CurlOptions {
  long connect_timeout_seconds = 10;
  long stall_seconds = 20;          // abort when slower than stall_bytes_per_second this long
  long stall_bytes_per_second = 1;
  long total_timeout_seconds = 600; // one whole transfer
  std::string user_agent = "kpatch-agent";
  std::string ca_file;              // default: the system's CA store
};

class CurlFetcher final : public Fetcher {
public:
  explicit CurlFetcher(CurlOptions opts = {});
  ~CurlFetcher() override;
  CurlFetcher(const CurlFetcher &) = delete;
  CurlFetcher &operator=(const CurlFetcher &) = delete;
  FetchResult fetch(const std::string &url, u64 max_length) override;

private:
  CurlOptions opts_;
  void *curl_ = nullptr; // CURL *
};

} // namespace kpg::tuf
