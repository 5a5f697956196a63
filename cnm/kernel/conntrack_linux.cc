#include <netinet/in.h>
#include <netlink/netfilter/ct.h>
#include <netlink/netfilter/nfnl.h>

#include <cstring>

#include "cnm/kernel/conntrack.h"
#include "cnm/kernel/nl.h"

namespace cnm::kernel {
namespace {

uint8_t ip_proto(cnm::Proto p) {
  switch (p) {
    case cnm::Proto::kUdp:
      return IPPROTO_UDP;
    case cnm::Proto::kSctp:
      return IPPROTO_SCTP;
    case cnm::Proto::kTcp:
      break;
  }
  return IPPROTO_TCP;
}

struct Match {
  uint8_t proto = 0;
  std::optional<IpAddr> ip;
  uint16_t first = 0, last = 0;
  std::vector<nfnl_ct*> hits;  // borrowed from the cache
};

void visit(nl_object* obj, void* arg) {
  auto* m = static_cast<Match*>(arg);
  auto* ct = reinterpret_cast<nfnl_ct*>(obj);
  int family = nfnl_ct_get_family(ct);
  if ((family != AF_INET && family != AF_INET6) || nfnl_ct_get_proto(ct) != m->proto) return;
  uint16_t port = nfnl_ct_get_dst_port(ct, 0);
  if (port < m->first || port > m->last) return;
  if (m->ip) {
    nl_addr* dst = nfnl_ct_get_dst(ct, 0);
    if (dst == nullptr) return;
    if (m->ip->is_v6()) {
      auto want = m->ip->bytes();
      if (nl_addr_get_len(dst) != 16 || std::memcmp(nl_addr_get_binary_addr(dst), want.data(), 16))
        return;
    } else {
      uint32_t want = htonl(static_cast<uint32_t>(m->ip->value()));
      if (nl_addr_get_len(dst) != 4 || std::memcmp(nl_addr_get_binary_addr(dst), &want, 4)) return;
    }
  }
  m->hits.push_back(ct);
}

class LinuxConntrack final : public Conntrack {
 public:
  Result<int> forget(cnm::Proto proto, const std::optional<IpAddr>& ip, uint16_t first,
                     uint16_t count) override {
    nl::SockPtr sock(nl_socket_alloc());
    if (!sock) return fail(Code::kFailed, "conntrack: out of memory");
    if (int err = nfnl_connect(sock.get()); err < 0)
      return fail(Code::kFailed, "conntrack: connect: {}", nl_geterror(err));
    nl_cache* raw = nullptr;
    if (int err = nfnl_ct_alloc_cache(sock.get(), &raw); err < 0)
      return fail(Code::kFailed, "conntrack: list entries: {}", nl_geterror(err));
    nl::CachePtr cache(raw);
    Match m{ip_proto(proto),
            ip && ip->value() != 0 ? ip : std::nullopt,
            first,
            static_cast<uint16_t>(first + count - 1),
            {}};
    nl_cache_foreach(cache.get(), visit, &m);
    int gone = 0;
    for (nfnl_ct* ct : m.hits) {
      int err = nfnl_ct_del(sock.get(), ct, 0);
      if (err == 0)
        ++gone;
      else if (err != -NLE_OBJ_NOTFOUND)
        return fail(Code::kFailed, "conntrack: delete entry: {}", nl_geterror(err));
    }
    return gone;
  }
};

}  // namespace

std::unique_ptr<Conntrack> make_linux_conntrack() { return std::make_unique<LinuxConntrack>(); }

}  // namespace cnm::kernel
