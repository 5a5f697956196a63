// Watching a key prefix through the gateway's streaming POST /v3/watch: one JSON message a line,
// read as it arrives by libcurl's write callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/cluster/etcd_json.h"
#include "cnm/model/error.h"

namespace cnm::cluster {

struct WatchEvent {
  bool deleted = false;  // a delete (kv holds the key and the delete's mod_revision), else a put
  KeyValue kv;
};

// The events of one revision range, as etcd sent them.
struct WatchBatch {
  int64_t revision = 0;  // the header's: the store's revision when the batch was sent
  std::vector<WatchEvent> events;
};

// Returns false to end the watch.
using WatchCallback = std::function<bool(const WatchBatch&)>;

// One message of the stream: the watch made, events, or the watch cancelled (compacted history).
struct WatchMessage {
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;
  std::string cancel_reason;
  WatchBatch batch;
};

namespace etcd_json {
std::string watch_request(std::string_view key, std::string_view range_end, int64_t start_revision);
Result<WatchMessage> parse_watch(std::string_view line);
}  // namespace etcd_json

}  // namespace cnm::cluster
