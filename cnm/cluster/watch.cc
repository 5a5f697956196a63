#include "cnm/cluster/watch.h"

#include <curl/curl.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "cnm/cluster/base64.h"
#include "cnm/cluster/etcd.h"
#include "cnm/cluster/etcd_json_fields.h"

namespace cnm::cluster {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A line longer than this is not a watch message we can use.
constexpr size_t kMaxLine = 16 << 20;

// What one stream delivers, read by the write callback.
struct StreamState {
  StreamState(const WatchCallback& cb, int64_t from, const std::atomic<bool>* stop)
      : callback(cb), next(from), interrupt(stop) {}
  const WatchCallback& callback;
  int64_t next;  // the revision to resume from
  std::string pending;
  bool created = false;
  bool stopped = false;
  std::optional<Error> error;
  const std::atomic<bool>* interrupt;  // may be null

  bool interrupted() const { return interrupt != nullptr && interrupt->load(); }

  bool on_line(std::string_view line) {
    auto m = etcd_json::parse_watch(line);
    if (!m) return error = m.error(), false;
    if (m->canceled) {
      error = m->compact_revision > 0
                  ? Error{Code::kConflict, fmt::format("etcd watch from revision {}: compacted up "
                                                       "to {}",
                                                       next, m->compact_revision)}
                  : Error{Code::kFailed, fmt::format("etcd watch cancelled: {}", m->cancel_reason)};
      return false;
    }
    if (m->created) {
      if (next == 0) next = m->batch.revision + 1;
      created = true;
    }
    for (const auto& e : m->batch.events) next = std::max(next, e.kv.mod_revision + 1);
    if (m->batch.events.empty()) return true;
    if (!callback(m->batch)) stopped = true;
    return !stopped;
  }
};

size_t on_data(char* data, size_t size, size_t n, void* user) {
  auto* st = static_cast<StreamState*>(user);
  st->pending.append(data, size * n);
  size_t nl;
  while ((nl = st->pending.find('\n')) != std::string::npos) {
    std::string line = st->pending.substr(0, nl);
    st->pending.erase(0, nl + 1);
    if (line.find_first_not_of(" \r\t") != std::string::npos && !st->on_line(line)) return 0;
  }
  return st->pending.size() > kMaxLine ? 0 : size * n;
}

// libcurl's progress callback: called at least once a second while the stream is idle, so an
// interrupt set by another thread ends it that soon.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<StreamState*>(user)->interrupted() ? 1 : 0;
}

// Runs one watch stream on `url` until it ends, the callback stops it or `wait` passes.
CURLcode run_stream(const std::string& url, const std::string& body, milliseconds wait,
                    StreamState& st) {
  struct CurlFree {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  struct SlistFree {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };
  if (!curl_ready()) return CURLE_FAILED_INIT;
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return CURLE_FAILED_INIT;
  std::unique_ptr<curl_slist, SlistFree> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  // Only a member that has a leader keeps the watch: one cut off from the others cancels it.
  headers.reset(curl_slist_append(headers.release(), "Grpc-Metadata-hasleader: true"));
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_URL, (url + "/v3/watch").c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
  if (st.interrupt != nullptr) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &st);
  }
  // A long watch on a member that became unreachable without a word ends within ~20 s.
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 2L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 2L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, std::max<long>(1, wait.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::clamp<long>(wait.count(), 1, 300));
  return curl_easy_perform(c);
}

}  // namespace

namespace etcd_json {

std::string watch_request(std::string_view key, std::string_view range_end,
                          int64_t start_revision) {
  json r = {{"key", base64_encode(key)}};
  if (!range_end.empty()) r["range_end"] = base64_encode(range_end);
  if (start_revision > 0) r["start_revision"] = std::to_string(start_revision);
  return json{{"create_request", r}}.dump();
}

Result<WatchMessage> parse_watch(std::string_view line) {
  try {
    json j = json::parse(line);
    if (j.contains("error")) return fail(Code::kFailed, "etcd watch: {}", error_text(line));
    const json& r = j.at("result");
    WatchMessage m;
    m.created = r.value("created", false);
    m.canceled = r.value("canceled", false);
    m.compact_revision = int_field(r, "compact_revision");
    m.cancel_reason = printable(r.value("cancel_reason", std::string()));
    if (auto h = r.find("header"); h != r.end()) m.batch.revision = int_field(*h, "revision");
    for (const auto& e : r.value("events", json::array())) {
      const json& kv = e.at("kv");
      m.batch.events.push_back({e.value("type", std::string("PUT")) == "DELETE", key_value(kv)});
    }
    return m;
  } catch (const std::exception& e) {
    return fail(Code::kFailed, "unreadable etcd watch message: {}", printable(e.what()));
  }
}

}  // namespace etcd_json

Result<int64_t> EtcdClient::watch_prefix(std::string_view prefix, int64_t from_revision,
                                         const WatchCallback& callback, milliseconds max_wait,
                                         const std::atomic<bool>* interrupt) {
  if (conns_.empty()) return fail(Code::kInvalid, "etcd watch: no endpoints configured");
  const auto end = Clock::now() + max_wait;
  StreamState st(callback, from_revision, interrupt);
  std::vector<std::string> errors(conns_.size());
  bool ever_created = false;
  for (;;) {
    for (size_t n = 0; n < conns_.size(); ++n) {
      size_t i = (current_ + n) % conns_.size();
      auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
      if (left.count() <= 0 || st.interrupted()) break;
      st.created = false;
      st.pending.clear();
      std::string body = etcd_json::watch_request(prefix, etcd_json::prefix_end(prefix), st.next);
      CURLcode rc = run_stream(conns_[i]->base(), body, left, st);
      if (st.error) return std::unexpected(*st.error);
      if (st.stopped || st.interrupted()) return st.next;
      ever_created |= st.created;
      if (st.created) current_ = i;
      if (rc == CURLE_OPERATION_TIMEDOUT && st.created) return st.next;
      errors[i] = fmt::format("{}: {}", conns_[i]->base(),
                              rc == CURLE_OK ? "stream ended" : curl_easy_strerror(rc));
    }
    auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
    if (left.count() <= 0) break;
    if (st.interrupted()) return st.next;
    std::this_thread::sleep_for(std::min(options_.first_backoff * 5, left));
  }
  if (ever_created) return st.next;
  std::erase(errors, std::string());
  return fail(Code::kFailed, "etcd watch: no member answered within {} ms ({})", max_wait.count(),
              fmt::join(errors, "; "));
}

}  // namespace cnm::cluster
