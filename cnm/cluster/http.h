// One kept-alive HTTP/1.1 connection to an etcd member's JSON gateway, through libcurl's easy
// interface: the handle keeps its connection open between requests, so a call after the first pays
// no TCP set-up.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "cnm/model/error.h"

namespace cnm::cluster {

struct HttpReply {
  long status = 0;
  std::string body;
};

// How a request that got no HTTP answer failed: before anything was sent (nothing can have taken
// effect) or after (the outcome is unknown).
enum class SendFailure { kNotSent, kUnknownOutcome };

struct HttpError {
  SendFailure kind = SendFailure::kUnknownOutcome;
  std::string message;
};

class HttpConn {
 public:
  // `base` is "http://host:port".
  explicit HttpConn(std::string base);

  // POSTs `json` to base + path, waiting at most `timeout` in all.
  std::expected<HttpReply, HttpError> post(std::string_view path, std::string_view json,
                                           std::chrono::milliseconds timeout);
  // Connections this handle opened so far (1 when every request reused the first).
  long connects() const { return connects_; }
  const std::string& base() const { return base_; }

 private:
  struct CurlFree {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  struct SlistFree {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };
  std::string base_;
  std::unique_ptr<CURL, CurlFree> curl_;
  std::unique_ptr<curl_slist, SlistFree> headers_;
  std::string body_;
  long connects_ = 0;
};

// libcurl's process-wide set-up, done once; false if it failed.
bool curl_ready();

}  // namespace cnm::cluster
