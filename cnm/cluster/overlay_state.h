// The overlay's global state in etcd: network definitions and their VNIs, the addresses of every
// network (global IPAM), the hosts and the peer records that tell each host where an endpoint
// lives. Every change is one etcd transaction whose compares make it correct when hosts act at the
// same moment (cnm/cluster/README.md, "Overlay state"). Records written by other hosts are checked
// on every read: one that fails is skipped and reported, never used.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cnm/cluster/etcd.h"
#include "cnm/cluster/etcd_txn.h"
#include "cnm/cluster/overlay_records.h"

namespace cnm::cluster {

// A record read that failed its check: its key and why.
struct SkippedRecord {
  std::string key;
  std::string reason;
};

struct NetworkList {
  std::vector<OverlayNetwork> networks;
  std::vector<SkippedRecord> skipped;
  int64_t revision = 0;
};

struct Allocation {
  IpAddr ip;
  std::string mac;  // overlay_mac(ip)
};

struct PeerList {
  std::vector<PeerRecord> peers;
  std::vector<SkippedRecord> skipped;
  int64_t revision = 0;  // watch_peers from revision + 1 sees every later change
};

struct PeerEvent {
  enum class Kind { kAdded, kRemoved, kInvalid };
  Kind kind = Kind::kAdded;
  std::string network;
  IpAddr ip;                       // kAdded, kRemoved (kInvalid: if the key names one)
  std::optional<PeerRecord> peer;  // kAdded
  SkippedRecord invalid;           // kInvalid: a record put that failed its check
  int64_t revision = 0;            // the event's
};
// Returns false to end the watch.
using PeerCallback = std::function<bool(const PeerEvent&)>;
// Called after each batch of the stream that passed at least one event to the PeerCallback, with
// the revision of the last: every peer change up to it has been seen. Returns false to end the
// watch (it resumes after that batch).
using PeerBatchCallback = std::function<bool(int64_t revision)>;

class OverlayState {
 public:
  explicit OverlayState(EtcdClient& client, std::string prefix = std::string(kOverlayPrefix));

  const OverlayKeys& keys() const { return keys_; }
  // etcd calls made so far (each one round trip unless it had to fail over).
  long calls() const { return calls_; }

  // Claims the name and the VNI together. A VNI of 0 picks a free one in kAutoVniFirst-kVniLast at
  // random. kConflict: the name holds another definition, or the VNI belongs to another network
  // (named). The same definition already there counts as claimed (a repeated claim). Returns the
  // network as stored.
  Result<OverlayNetwork> claim_network(const OverlayNetwork& n);
  Result<NetworkList> list_networks();
  // kNotFound if absent, kFailed if its record fails its check.
  Result<OverlayNetwork> get_network(std::string_view name);
  // Deletes the network and its VNI unless an address or peer record of it exists (kConflict,
  // naming one), in one transaction that also requires the prefix of each to be empty.
  Status remove_network(std::string_view name);

  // A free address of the subnet for `host_id` (a random one; `want`: exactly that one, kConflict
  // if taken, kInvalid if not a host address of the subnet), never the gateway. kConflict when the
  // subnet is full, kNotFound when the network is gone.
  Result<Allocation> allocate_address(std::string_view network, std::string_view host_id,
                                      std::optional<IpAddr> want = std::nullopt);
  // Frees `ip` if `host_id` holds it: kNotFound if nobody does, kConflict if another host does.
  Status release_address(std::string_view network, const IpAddr& ip, std::string_view host_id);

  // A lease of `ttl` seconds with the host's record bound to it. kConflict if a live record of
  // `host_id` names another VTEP.
  Result<int64_t> register_host(std::string_view host_id, const IpAddr& vtep, int64_t ttl);
  // Renews it: kNotFound once it expired (register again, then publish again).
  Result<Lease> keepalive_host(int64_t lease);
  // Ends the lease: the host record and its peer records go at once.
  Status unregister_host(int64_t lease);

  // Publishes `p` bound to `lease`, which must be the lease of p.host_id's record, for an address
  // p.host_id holds (kConflict otherwise). Returns the revision of the write (for wait_acks).
  Result<int64_t> publish_peer(std::string_view network, const PeerRecord& p, int64_t lease);
  Status withdraw_peer(std::string_view network, const IpAddr& ip);
  Result<PeerList> list_peers(std::string_view network);
  // Peer changes of `network` ("" for every network) from `from_revision` (0: from now), each
  // passed to `callback`, until it returns false, `max_wait` passes or `interrupt` is set (by
  // another thread: within about a second, EtcdClient::watch_prefix). Records are checked against
  // their network as it stood at the event. Returns the revision to resume from.
  Result<int64_t> watch_peers(std::string_view network, int64_t from_revision,
                              const PeerCallback& callback, std::chrono::milliseconds max_wait,
                              const PeerBatchCallback& batch_done = {},
                              const std::atomic<bool>* interrupt = nullptr);

  // Acknowledgements (overlay_acks.cc). The agent of `host_id` says it has applied every peer
  // change up to `revision`: acks/HOST bound to `lease`, written only while the host's record is
  // under that lease (kNotFound otherwise: register again).
  Status put_ack(std::string_view host_id, int64_t revision, int64_t lease);
  // Waits until every live host (a hosts/ record) but `self` has acknowledged `revision` or later:
  // reads of the hosts and acks, a few ms apart, until they have or `max_wait` passed. Returns the
  // hosts that had not (empty: all had). A host whose record is gone (its lease ended) is no
  // longer waited for.
  Result<std::vector<std::string>> wait_acks(int64_t revision, std::string_view self,
                                             std::chrono::milliseconds max_wait);

 private:
  struct Stored {
    OverlayNetwork net;
    int64_t create_revision = 0;
    int64_t mod_revision = 0;
  };
  Result<Stored> load_network(std::string_view name);
  Result<TxnResult> run(const Txn& t);
  // Claims a free address of `s` (see allocate_address); `sparse`: try random addresses before
  // reading which are taken.
  Result<Allocation> allocate_in(const Stored& s, std::string_view host_id,
                                 std::optional<IpAddr> want, bool sparse);
  // The claimed network, or nullopt when the VNI picked at random was taken (pick another).
  Result<std::optional<OverlayNetwork>> try_claim(const OverlayNetwork& n, bool picked_vni);

  EtcdClient& client_;
  OverlayKeys keys_;
  long calls_ = 0;
};

}  // namespace cnm::cluster
