#include "cnm/kernel/firewall_nft_netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <ctime>
#include <memory>

namespace cnm::kernel::nft {
namespace {

// Batch pages and receive buffers stay under glibc's mmap threshold (128 KiB): a buffer above it
// is an mmap, page faults and a munmap in every command, where a publish's whole batch is a few
// hundred bytes. A batch grows page by page; a message may run into the overrun.
constexpr uint32_t kPage = 32 * 1024;
constexpr uint32_t kOverrun = 32 * 1024;
constexpr size_t kElemsPerMessage = 256;  // ~20 KiB of the overrun at most
constexpr int kBufferBytes = 16 << 20;    // a gc batch of every published port fits
// A dump's messages come in skbs of at most 32 KiB (the kernel sizes them by the largest receive
// buffer seen, capped there); answers to a batch are errors only.
constexpr size_t kReceive = 64 * 1024;

// A receive buffer, not zeroed: the kernel writes what is read.
std::unique_ptr<char[]> receive_buffer() {
  return std::make_unique_for_overwrite<char[]>(kReceive);
}

std::string cause(int err) { return std::strerror(err); }

}  // namespace

Result<Socket> Socket::open() {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr) return fail(Code::kFailed, "nftables: open netlink socket: {}", cause(errno));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl);
    return fail(Code::kFailed, "nftables: bind netlink socket: {}", cause(err));
  }
  int fd = mnl_socket_get_fd(nl), one = 1, size = kBufferBytes;
  // Larger than the defaults allow: root forces them. Errors echo only the failing header.
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof one);
  return Socket(nl, mnl_socket_get_portid(nl), static_cast<uint32_t>(time(nullptr)));
}

Socket::Socket(Socket&& o) noexcept : nl_(o.nl_), portid_(o.portid_), seq_(o.seq_) {
  o.nl_ = nullptr;
}

Socket::~Socket() {
  if (nl_ != nullptr) mnl_socket_close(nl_);
}

Status Socket::commit(Batch& b) {
  b.finish();
  std::vector<iovec> iov(static_cast<size_t>(nftnl_batch_iovec_len(b.batch_)));
  nftnl_batch_iovec(b.batch_, iov.data(), static_cast<uint32_t>(iov.size()));
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  int fd = mnl_socket_get_fd(nl_);
  if (sendmsg(fd, &msg, 0) < 0)
    return fail(Code::kFailed, "nftables: send batch: {}", cause(errno));
  // The kernel handles the batch inside sendmsg: every answer (errors only: no message asks for
  // an ack) is queued by now.
  auto buf = receive_buffer();
  std::optional<std::pair<uint32_t, int>> first;
  for (;;) {
    ssize_t n = recv(fd, buf.get(), kReceive, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) return fail(Code::kFailed, "nftables: read batch answers: {}", cause(errno));
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.get()); mnl_nlmsg_ok(h, len);
         h = mnl_nlmsg_next(h, &len)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      auto* e = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(h));
      if (e->error != 0 && (!first || e->msg.nlmsg_seq < first->first))
        first = {e->msg.nlmsg_seq, -e->error};
    }
  }
  if (!first) return {};
  std::string what = "commit";
  for (const auto& [seq, w] : b.what_)
    if (seq == first->first) what = w;
  bool conflict = first->second == EEXIST && what.starts_with("add elements");
  return fail(conflict ? Code::kConflict : Code::kFailed, "nftables: {}: {}", what,
              conflict ? "a host port is already published to another address or port"
                       : cause(first->second));
}

Status Socket::query(uint16_t type, bool dump, const std::function<void(nlmsghdr*)>& fill,
                     const std::function<void(const nlmsghdr*)>& each) {
  auto buf = receive_buffer();
  uint32_t seq = next_seq();
  nlmsghdr* h = nftnl_nlmsg_build_hdr(buf.get(), type, NFPROTO_INET,
                                      static_cast<uint16_t>(dump ? NLM_F_DUMP : NLM_F_ACK), seq);
  fill(h);
  if (mnl_socket_sendto(nl_, h, h->nlmsg_len) < 0)
    return fail(Code::kFailed, "nftables: send request: {}", cause(errno));
  auto cb = [](const nlmsghdr* m, void* data) -> int {
    (*static_cast<const std::function<void(const nlmsghdr*)>*>(data))(m);
    return MNL_CB_OK;
  };
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf.get(), kReceive);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Code::kFailed, "nftables: read answer: {}", cause(errno));
    int ret = mnl_cb_run(buf.get(), static_cast<size_t>(n), seq, portid_, cb,
                         const_cast<std::function<void(const nlmsghdr*)>*>(&each));
    if (ret == MNL_CB_STOP) return {};
    if (ret < 0 && errno == ENOENT) return fail(Code::kNotFound, "nftables: no such object");
    if (ret < 0) return fail(Code::kFailed, "nftables: read answer: {}", cause(errno));
  }
}

Status Socket::query_each(uint16_t type, size_t count,
                          const std::function<void(size_t, nlmsghdr*)>& fill,
                          const std::function<void(size_t, const nlmsghdr*)>& each) {
  constexpr size_t kPerSend = 256, kMessage = 512;
  std::vector<char> out(kPerSend * kMessage);
  auto in = receive_buffer();
  for (size_t first = 0; first < count; first += kPerSend) {
    size_t n = std::min(kPerSend, count - first), used = 0;
    uint32_t seq0 = seq_;
    for (size_t i = 0; i < n; ++i) {
      nlmsghdr* h =
          nftnl_nlmsg_build_hdr(out.data() + used, type, NFPROTO_INET, NLM_F_ACK, next_seq());
      fill(first + i, h);
      used += NLMSG_ALIGN(h->nlmsg_len);
    }
    if (mnl_socket_sendto(nl_, out.data(), used) < 0)
      return fail(Code::kFailed, "nftables: send requests: {}", cause(errno));
    for (size_t done = 0; done < n;) {  // every request ends with its ack or error
      ssize_t got = mnl_socket_recvfrom(nl_, in.get(), kReceive);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return fail(Code::kFailed, "nftables: read answers: {}", cause(errno));
      int len = static_cast<int>(got);
      for (auto* h = reinterpret_cast<nlmsghdr*>(in.get()); mnl_nlmsg_ok(h, len);
           h = mnl_nlmsg_next(h, &len)) {
        size_t i = h->nlmsg_seq - seq0;
        if (i >= n) continue;
        if (h->nlmsg_type != NLMSG_ERROR) {
          each(first + i, h);
          continue;
        }
        ++done;
        int err = -static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(h))->error;
        if (err != 0 && err != ENOENT)
          return fail(Code::kFailed, "nftables: read answers: {}", cause(err));
      }
    }
  }
  return {};
}

Batch::Batch(Socket& s) : sock_(s), batch_(nftnl_batch_alloc(kPage, kOverrun)) {
  first_seq_ = s.next_seq();
  nftnl_batch_begin(static_cast<char*>(nftnl_batch_buffer(batch_)), first_seq_);
  nftnl_batch_update(batch_);
}

Batch::~Batch() { nftnl_batch_free(batch_); }

void Batch::finish() {
  if (finished_) return;
  finished_ = true;
  nftnl_batch_end(static_cast<char*>(nftnl_batch_buffer(batch_)), sock_.next_seq());
  nftnl_batch_update(batch_);
}

nlmsghdr* Batch::header(uint16_t type, uint16_t flags, std::string what) {
  uint32_t seq = sock_.next_seq();
  what_.emplace_back(seq, std::move(what));
  return nftnl_nlmsg_build_hdr(static_cast<char*>(nftnl_batch_buffer(batch_)), type, NFPROTO_INET,
                               flags, seq);
}

void Batch::add_table(const std::string& table) {
  TablePtr t = make_table(table);
  nftnl_table_nlmsg_build_payload(header(NFT_MSG_NEWTABLE, NLM_F_CREATE, "add table " + table),
                                  t.get());
  nftnl_batch_update(batch_);
}

void Batch::delete_table(const std::string& table) {
  TablePtr t = make_table(table);
  nftnl_table_nlmsg_build_payload(header(NFT_MSG_DELTABLE, 0, "delete table " + table), t.get());
  nftnl_batch_update(batch_);
}

void Batch::add_chain(const std::string& table, const std::string& name,
                      const std::optional<Hook>& hook) {
  ChainPtr c = make_chain(table, name, hook);
  nftnl_chain_nlmsg_build_payload(header(NFT_MSG_NEWCHAIN, NLM_F_CREATE, "add chain " + name),
                                  c.get());
  nftnl_batch_update(batch_);
}

void Batch::flush_chain(const std::string& table, const std::string& name) {
  RulePtr r(nftnl_rule_alloc());
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, name.c_str());
  nftnl_rule_nlmsg_build_payload(header(NFT_MSG_DELRULE, 0, "flush chain " + name), r.get());
  nftnl_batch_update(batch_);
}

void Batch::delete_chain(const std::string& table, const std::string& name) {
  ChainPtr c = make_chain(table, name);
  nftnl_chain_nlmsg_build_payload(header(NFT_MSG_DELCHAIN, 0, "delete chain " + name), c.get());
  nftnl_batch_update(batch_);
}

void Batch::add_rule(const std::string& table, const std::string& chain, const Rule& r) {
  RulePtr p = make_rule(table, chain, r);
  nftnl_rule_nlmsg_build_payload(
      header(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, "add rule to chain " + chain), p.get());
  nftnl_batch_update(batch_);
}

void Batch::add_map(const std::string& table, const std::string& map) {
  SetPtr s = make_map(table, map);
  nftnl_set_nlmsg_build_payload(header(NFT_MSG_NEWSET, NLM_F_CREATE, "add map " + map), s.get());
  nftnl_batch_update(batch_);
}

void Batch::elements(uint16_t type, uint16_t flags, const std::string& table,
                     const std::string& map, const std::vector<const Element*>& elems,
                     const char* doing) {
  for (size_t at = 0; at < elems.size(); at += kElemsPerMessage) {
    size_t end = std::min(elems.size(), at + kElemsPerMessage);
    std::vector<const Element*> part(elems.begin() + static_cast<std::ptrdiff_t>(at),
                                     elems.begin() + static_cast<std::ptrdiff_t>(end));
    SetPtr s = make_elements(table, map, part, type == NFT_MSG_DELSETELEM);
    std::string what = fmt::format("{} {}", doing, render(*part.front()));
    if (part.size() > 1) what += fmt::format(" and {} more", part.size() - 1);
    nftnl_set_elems_nlmsg_build_payload(header(type, flags, what), s.get());
    nftnl_batch_update(batch_);
  }
}

void Batch::add_elements(const std::string& table, const std::string& map,
                         const std::vector<const Element*>& elems) {
  // Without NLM_F_EXCL: an identical element is no error, the same key with other data is EEXIST.
  elements(NFT_MSG_NEWSETELEM, NLM_F_CREATE, table, map, elems, "add elements");
}

void Batch::delete_elements(const std::string& table, const std::string& map,
                            const std::vector<const Element*>& elems) {
  elements(NFT_MSG_DELSETELEM, 0, table, map, elems, "delete elements");
}

}  // namespace cnm::kernel::nft
