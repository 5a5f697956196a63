#include "cnm/cluster/http.h"

#include <algorithm>

namespace cnm::cluster {
namespace {

// etcd answers are small; a member sending more than this is not an etcd member we can use.
constexpr size_t kMaxBody = 16 << 20;

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * n > kMaxBody) return 0;  // libcurl then fails the transfer
  body->append(data, size * n);
  return size * n;
}

SendFailure kind_of(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return SendFailure::kNotSent;
    default:
      return SendFailure::kUnknownOutcome;
  }
}

}  // namespace

bool curl_ready() {
  static const bool ok = curl_global_init(CURL_GLOBAL_NOTHING) == CURLE_OK;
  return ok;
}

HttpConn::HttpConn(std::string base) : base_(std::move(base)) {
  if (!curl_ready()) return;
  curl_.reset(curl_easy_init());
  if (!curl_) return;
  headers_.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
  CURL* c = curl_.get();
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // never an http_proxy from the environment
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers_.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body_);
}

std::expected<HttpReply, HttpError> HttpConn::post(std::string_view path, std::string_view json,
                                                   std::chrono::milliseconds timeout) {
  if (!curl_) return std::unexpected(HttpError{SendFailure::kNotSent, "libcurl did not start"});
  CURL* c = curl_.get();
  std::string url = base_ + std::string(path);
  long ms = std::max<long>(1, timeout.count());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, json.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(json.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
  body_.clear();
  CURLcode rc = curl_easy_perform(c);
  long opened = 0;
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &opened);
  connects_ += opened;
  if (rc != CURLE_OK) return std::unexpected(HttpError{kind_of(rc), curl_easy_strerror(rc)});
  HttpReply reply;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  reply.body = std::move(body_);
  return reply;
}

}  // namespace cnm::cluster
