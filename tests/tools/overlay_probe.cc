// Runs cnm::cluster::OverlayState operations named on the command line, for
// tests/e2e/t_overlay_state.sh and the measurements of cnm/cluster/README.md.
//   overlay_probe [-p PREFIX] URL[,URL...] OP ARGS...
//   claim NAME ID SUBNET GATEWAY VNI MTU   (prints "NAME vni N")
//   get NAME | ls | rm NAME
//   alloc NET HOST N [WANT]   (N allocations; prints "IP MAC" each; with OVERLAY_PROBE_CALLS
//     set, "calls N" on stderr: etcd calls made)
//   release NET HOST IP...
//   churn NET HOST N   (N times: allocate one address, check that the network still exists,
//     release it; exits 5 if the network was removed while the address was held)
//   rm-until NET N   (up to N removals until one succeeds)
//   register HOST VTEP TTL (prints the lease) | keepalive LEASE | revoke LEASE
//   publish NET LEASE HOST VTEP IP ENDPOINT   (prints the revision of the write)
//   ack HOST REVISION LEASE | wait-acks REVISION SELF MAX_MS   (prints the hosts that had not
//     acknowledged, one a line; exits 1 if any)
//   peers NET   (prints "IP MAC VTEP HOST ENDPOINT", "skip KEY: REASON", then "revision N")
//   watch NET|all FROM_REV N MAX_MS   ("added NET IP VTEP" / "removed NET IP" / "invalid KEY" for
//     N events, then "next REV"; exits 5 if fewer came within MAX_MS)
//   bench-alloc NET HOST N | bench-claim N   (median and p90 microseconds, etcd calls per op)
//   ack-latency NET ACKHOST FIRST_IP N GAP_MS   (N peer records of host "remote" put as they are,
//     at FIRST_IP and the next N-1 addresses, GAP_MS apart; after each, acks/ACKHOST read until it
//     reaches the put's revision (1 s at most). Prints "ack_latency n=N median_us= p90_us=
//     max_us=", then deletes the records; exits 5 if an ack never came)
// Exit status: 0, or the error's code (cnm::Code).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cnm/cluster/overlay_state.h"
#include "tests/tools/probe_util.h"

namespace {

using cnm::IpAddr;
using cnm::cluster::OverlayState;
using OvlClock = probe::Clock;
using Args = std::vector<std::string>;

int ovl_report(const cnm::Error& e) { return probe::report("overlay_probe", e); }
using probe::split_commas;

IpAddr ovl_ip(const std::string& s) {
  auto ip = IpAddr::parse(s);
  if (!ip) {
    std::fprintf(stderr, "overlay_probe: bad address %s\n", s.c_str());
    std::exit(2);
  }
  return *ip;
}

void ovl_stats(const char* what, std::vector<long long> us, long calls) {
  std::sort(us.begin(), us.end());
  std::printf("%s n=%zu median_us=%lld p90_us=%lld etcd_calls_per_op=%.2f\n", what, us.size(),
              us[us.size() / 2], us[us.size() * 9 / 10],
              static_cast<double>(calls) / static_cast<double>(us.size()));
}

using probe::micros_since;

int ovl_claim(OverlayState& s, const Args& a) {
  cnm::cluster::OverlayNetwork n{a[1], a[2], {}, ovl_ip(a[4]), 0, 0};
  auto subnet = cnm::Prefix::parse(a[3]);
  if (!subnet) return ovl_report(subnet.error());
  n.subnet = *subnet;
  n.vni = static_cast<uint32_t>(std::stoul(a[5]));
  n.mtu = static_cast<unsigned>(std::stoul(a[6]));
  auto r = s.claim_network(n);
  if (!r) return ovl_report(r.error());
  std::printf("%s vni %u\n", r->name.c_str(), r->vni);
  return 0;
}

int ovl_alloc(OverlayState& s, const Args& a) {
  int n = std::stoi(a[3]);
  std::optional<IpAddr> want;
  if (a.size() > 4) want = ovl_ip(a[4]);
  for (int i = 0; i < n; ++i) {
    auto r = s.allocate_address(a[1], a[2], want);
    if (!r) return ovl_report(r.error());
    std::printf("%s %s\n", r->ip.str().c_str(), r->mac.c_str());
  }
  if (std::getenv("OVERLAY_PROBE_CALLS")) std::fprintf(stderr, "calls %ld\n", s.calls());
  return 0;
}

int ovl_churn(OverlayState& s, const Args& a) {
  for (int i = 0, n = std::stoi(a[3]); i < n; ++i) {
    auto r = s.allocate_address(a[1], a[2]);
    if (!r) return ovl_report(r.error());
    // The address just won keeps the network from being removed until it is released.
    if (auto g = s.get_network(a[1]); !g) {
      std::fprintf(stderr, "overlay_probe: %s removed while %s was allocated in it\n", a[1].c_str(),
                   r->ip.str().c_str());
      return 5;
    }
    if (auto st = s.release_address(a[1], r->ip, a[2]); !st) return ovl_report(st.error());
  }
  return 0;
}

int ovl_peers(OverlayState& s, const Args& a) {
  auto r = s.list_peers(a[1]);
  if (!r) return ovl_report(r.error());
  for (const auto& p : r->peers) {
    std::printf("%s %s %s %s %s\n", p.ip.str().c_str(), p.mac.c_str(), p.vtep.str().c_str(),
                p.host_id.c_str(), p.endpoint_id.c_str());
  }
  for (const auto& k : r->skipped) std::printf("skip %s: %s\n", k.key.c_str(), k.reason.c_str());
  std::printf("revision %lld\n", static_cast<long long>(r->revision));
  return 0;
}

int ovl_watch(OverlayState& s, const Args& a) {
  using K = cnm::cluster::PeerEvent::Kind;
  int want = std::stoi(a[3]), seen = 0;
  auto next = s.watch_peers(
      a[1] == "all" ? "" : a[1], std::stoll(a[2]),
      [&](const cnm::cluster::PeerEvent& e) {
        if (e.kind == K::kAdded)
          std::printf("added %s %s %s\n", e.network.c_str(), e.ip.str().c_str(),
                      e.peer->vtep.str().c_str());
        else if (e.kind == K::kRemoved)
          std::printf("removed %s %s\n", e.network.c_str(), e.ip.str().c_str());
        else
          std::printf("invalid %s: %s\n", e.invalid.key.c_str(), e.invalid.reason.c_str());
        std::fflush(stdout);
        return ++seen < want;
      },
      std::chrono::milliseconds(std::stoll(a[4])));
  if (!next) return ovl_report(next.error());
  std::printf("next %lld\n", static_cast<long long>(*next));
  return seen >= want ? 0 : 5;
}

int ovl_bench_alloc(OverlayState& s, const Args& a) {
  std::vector<long long> us;
  long calls0 = s.calls();
  for (int i = 0, n = std::stoi(a[3]); i < n; ++i) {
    auto t = OvlClock::now();
    auto r = s.allocate_address(a[1], a[2]);
    if (!r) return ovl_report(r.error());
    us.push_back(micros_since(t));
  }
  ovl_stats("allocate_address", us, s.calls() - calls0);
  return 0;
}

int ovl_bench_claim(OverlayState& s, const Args& a) {
  std::vector<long long> us;
  long calls0 = s.calls();
  for (int i = 0, n = std::stoi(a[1]); i < n; ++i) {
    std::string name = "bench" + std::to_string(i);
    std::string id = std::string(60, 'b') + fmt::format("{:04x}", i);
    cnm::cluster::OverlayNetwork net{
        name, id, *cnm::Prefix::parse("10.9.0.0/24"), ovl_ip("10.9.0.1"), 0, 0};
    auto t = OvlClock::now();
    auto r = s.claim_network(net);
    if (!r) return ovl_report(r.error());
    us.push_back(micros_since(t));
  }
  ovl_stats("claim_network", us, s.calls() - calls0);
  return 0;
}

// Microseconds from the put at revision `rev` until acks/HOST holds `rev` or later; -1 after 1 s.
long long ovl_ack_wait(cnm::cluster::EtcdClient& c, const std::string& key, int64_t rev) {
  auto t = OvlClock::now();
  while (OvlClock::now() - t < std::chrono::seconds(1)) {
    auto r = c.get(key);
    if (r && !r->kvs.empty()) {
      auto a = cnm::cluster::decode_ack(r->kvs[0].value);
      if (a && a->revision >= rev) return micros_since(t);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return -1;
}

int ovl_ack_latency(cnm::cluster::EtcdClient& c, OverlayState& s, const Args& a) {
  const std::string ack = s.keys().ack(a[2]);
  const auto first = static_cast<uint32_t>(ovl_ip(a[3]).value());
  std::vector<long long> us;
  std::vector<std::string> keys;
  for (int i = 0, n = std::stoi(a[4]); i < n; ++i) {
    const IpAddr ip = IpAddr::v4(first + static_cast<uint32_t>(i));
    cnm::cluster::PeerRecord p{ip, cnm::cluster::overlay_mac(ip), ovl_ip("203.0.113.250"), "remote",
                               "latency" + std::to_string(i)};
    keys.push_back(s.keys().peer(a[1], ip));
    auto w = c.put(keys.back(), cnm::cluster::encode_peer(p));
    if (!w) return ovl_report(w.error());
    us.push_back(ovl_ack_wait(c, ack, w->revision));
    if (us.back() > 20000 || us.back() < 0)
      std::fprintf(stderr, "put %d (%s) at revision %lld: ack after %lld us\n", i, ip.str().c_str(),
                   static_cast<long long>(w->revision), us.back());
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoll(a[5])));
  }
  for (const auto& k : keys) (void)c.delete_key(k);
  if (std::ranges::count(us, -1) > 0) {
    std::fprintf(stderr, "overlay_probe: %s: no ack within 1 s\n", a[2].c_str());
    return 5;
  }
  std::sort(us.begin(), us.end());
  std::printf("ack_latency n=%zu median_us=%lld p90_us=%lld max_us=%lld\n", us.size(),
              us[us.size() / 2], us[us.size() * 9 / 10], us.back());
  return 0;
}

int ovl_run(cnm::cluster::EtcdClient& c, OverlayState& s, const Args& a) {
  const std::string& op = a[0];
  auto need = [&](size_t n) {
    if (a.size() >= n + 1) return true;
    std::fprintf(stderr, "overlay_probe: %s needs %zu arguments\n", op.c_str(), n);
    return false;
  };
  auto status = [](const cnm::Status& st) { return st ? 0 : ovl_report(st.error()); };
  if (op == "claim" && need(6)) return ovl_claim(s, a);
  if (op == "get" && need(1)) {
    auto r = s.get_network(a[1]);
    if (!r) return ovl_report(r.error());
    std::printf("%s\n", cnm::cluster::encode_network(*r).c_str());
    return 0;
  }
  if (op == "ls") {
    auto r = s.list_networks();
    if (!r) return ovl_report(r.error());
    for (const auto& n : r->networks) std::printf("%s %u\n", n.name.c_str(), n.vni);
    for (const auto& k : r->skipped) std::printf("skip %s: %s\n", k.key.c_str(), k.reason.c_str());
    return 0;
  }
  if (op == "rm" && need(1)) return status(s.remove_network(a[1]));
  if (op == "alloc" && need(3)) return ovl_alloc(s, a);
  if (op == "release" && need(3)) {
    for (size_t i = 3; i < a.size(); ++i)
      if (int rc = status(s.release_address(a[1], ovl_ip(a[i]), a[2]))) return rc;
    return 0;
  }
  if (op == "churn" && need(3)) return ovl_churn(s, a);
  if (op == "rm-until" && need(2)) {
    cnm::Status st;
    for (int i = 0, n = std::stoi(a[2]); i < n; ++i)
      if ((st = s.remove_network(a[1]))) return 0;
    return ovl_report(st.error());
  }
  if (op == "register" && need(3)) {
    auto r = s.register_host(a[1], ovl_ip(a[2]), std::stoll(a[3]));
    if (!r) return ovl_report(r.error());
    std::printf("%lld\n", static_cast<long long>(*r));
    return 0;
  }
  if (op == "keepalive" && need(1)) {
    auto r = s.keepalive_host(std::stoll(a[1]));
    return r ? 0 : ovl_report(r.error());
  }
  if (op == "revoke" && need(1)) return status(s.unregister_host(std::stoll(a[1])));
  if (op == "publish" && need(6)) {
    IpAddr ip = ovl_ip(a[5]);
    cnm::cluster::PeerRecord p{ip, cnm::cluster::overlay_mac(ip), ovl_ip(a[4]), a[3], a[6]};
    auto r = s.publish_peer(a[1], p, std::stoll(a[2]));
    if (!r) return ovl_report(r.error());
    std::printf("%lld\n", static_cast<long long>(*r));
    return 0;
  }
  if (op == "ack" && need(3)) return status(s.put_ack(a[1], std::stoll(a[2]), std::stoll(a[3])));
  if (op == "wait-acks" && need(3)) {
    auto r = s.wait_acks(std::stoll(a[1]), a[2], std::chrono::milliseconds(std::stoll(a[3])));
    if (!r) return ovl_report(r.error());
    for (const auto& h : *r) std::printf("%s\n", h.c_str());
    return r->empty() ? 0 : 1;
  }
  if (op == "peers" && need(1)) return ovl_peers(s, a);
  if (op == "watch" && need(4)) return ovl_watch(s, a);
  if (op == "bench-alloc" && need(3)) return ovl_bench_alloc(s, a);
  if (op == "bench-claim" && need(1)) return ovl_bench_claim(s, a);
  if (op == "ack-latency" && need(5)) return ovl_ack_latency(c, s, a);
  std::fprintf(stderr, "overlay_probe: unknown or incomplete operation %s\n", op.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args args(argv + 1, argv + argc);
  std::string prefix(cnm::cluster::kOverlayPrefix);
  if (args.size() >= 2 && args[0] == "-p") {
    prefix = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.size() < 2) {
    std::fprintf(stderr, "usage: overlay_probe [-p PREFIX] URL[,URL...] OP ARGS...\n");
    return 2;
  }
  cnm::cluster::EtcdClient client({split_commas(args[0])});
  OverlayState state(client, prefix);
  return ovl_run(client, state, Args(args.begin() + 1, args.end()));
}
