// SPDX-License-Identifier: GPL-2.0-only
#include "tuf/curl_fetcher.h"

#include <curl/curl.h>

#include <mutex>

#include <fmt/format.h>

namespace kpg::tuf {

namespace {

struct Sink {
  std::vector<u8> *data;
  u64 max;
  bool too_large = false;
};

size_t on_data(char *ptr, size_t size, size_t nmemb, void *user) {
  Sink *s = static_cast<Sink *>(user);
  size_t n = size * nmemb;
  if (s->data->size() + n > s->max) {
    s->data->insert(s->data->end(), ptr, ptr + (s->max - s->data->size()));
    s->too_large = true;
    return 0; // makes curl abort with CURLE_WRITE_ERROR
  }
  s->data->insert(s->data->end(), ptr, ptr + n);
  return n;
}

std::once_flag g_init;

} // namespace

CurlFetcher::CurlFetcher(CurlOptions opts) : opts_(std::move(opts)) {
  std::call_once(g_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

CurlFetcher::~CurlFetcher() { curl_easy_cleanup(static_cast<CURL *>(curl_)); }

FetchResult CurlFetcher::fetch(const std::string &url, u64 max_length) {
  FetchResult r;
  CURL *c = static_cast<CURL *>(curl_);
  if (!c) {
    r.message = "cannot initialise libcurl";
    return r;
  }
  curl_easy_reset(c); // keeps the connection cache: the next request reuses the connection
  Sink sink{&r.data, max_length};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, opts_.connect_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, opts_.stall_bytes_per_second);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, opts_.stall_seconds);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, opts_.total_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, opts_.user_agent.c_str());
  // TUF metadata must never come from an HTTP cache in between: a stale timestamp.json is a
  // rollback error on every machine behind that cache (fleetdm/fleet#14178).
  struct curl_slist *hdrs = curl_slist_append(nullptr, "Cache-Control: no-cache");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  if (!opts_.ca_file.empty())
    curl_easy_setopt(c, CURLOPT_CAINFO, opts_.ca_file.c_str());
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hdrs);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (sink.too_large) {
    r.status = FetchStatus::TooLarge;
    r.message = fmt::format("more than {} bytes", max_length);
    return r;
  }
  if (rc == CURLE_FILE_COULDNT_READ_FILE) {
    r.status = FetchStatus::NotFound;
    r.message = "no such file";
    r.data.clear();
    return r;
  }
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT)
      why = fmt::format("stalled or too slow after {} bytes: {}", r.data.size(), why);
    r.message = why;
    r.data.clear();
    return r;
  }
  if (url.starts_with("http") && status != 200) {
    r.status = status == 404 || status == 403 ? FetchStatus::NotFound : FetchStatus::Failed;
    r.message = fmt::format("HTTP {}", status);
    r.data.clear();
    return r;
  }
  r.status = FetchStatus::Ok;
  return r;
}

} // namespace kpg::tuf
