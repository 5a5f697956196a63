// Private to cnm/kernel: nf_tables over netlink for the nftables backend (libmnl sockets, libnftnl
// batches). A Batch is one transaction: the kernel applies all of its messages or none.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cnm/kernel/firewall_nft_build.h"
#include "cnm/model/error.h"

struct mnl_socket;
struct nftnl_batch;
struct nlmsghdr;

namespace cnm::kernel::nft {

class Batch;

class Socket {
 public:
  static Result<Socket> open();
  Socket(Socket&&) noexcept;
  Socket& operator=(Socket&&) = delete;
  ~Socket();

  // Sends `b` and collects the kernel's answers: the first failing message's description and
  // errno (EEXIST on an element add: Code::kConflict; else Code::kFailed).
  Status commit(Batch& b);
  // A GET request for `type` (NFT_MSG_GET*) filled by `fill`, as a dump with `dump`; every answer
  // message goes to `each`. ENOENT (no such table, chain, set or element) is Code::kNotFound.
  Status query(uint16_t type, bool dump, const std::function<void(nlmsghdr*)>& fill,
               const std::function<void(const nlmsghdr*)>& each);
  // `count` non-dump GET requests for `type` (request i filled by `fill(i, h)`) sent together;
  // each answer message of request i goes to `each(i, h)`. A request answered ENOENT has none.
  Status query_each(uint16_t type, size_t count, const std::function<void(size_t, nlmsghdr*)>& fill,
                    const std::function<void(size_t, const nlmsghdr*)>& each);
  uint32_t next_seq() { return seq_++; }

 private:
  Socket(mnl_socket* s, uint32_t portid, uint32_t seq) : nl_(s), portid_(portid), seq_(seq) {}
  mnl_socket* nl_;
  uint32_t portid_;
  uint32_t seq_;
};

class Batch {
 public:
  explicit Batch(Socket& s);
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  void add_table(const std::string& table);
  void add_chain(const std::string& table, const std::string& name,
                 const std::optional<Hook>& hook = std::nullopt);
  void flush_chain(const std::string& table, const std::string& name);
  void delete_chain(const std::string& table, const std::string& name);
  void add_rule(const std::string& table, const std::string& chain, const Rule& r);
  void add_map(const std::string& table, const std::string& map);
  // Elements of one map, in messages of a bounded size.
  void add_elements(const std::string& table, const std::string& map,
                    const std::vector<const Element*>& elems);
  void delete_elements(const std::string& table, const std::string& map,
                       const std::vector<const Element*>& elems);
  void delete_table(const std::string& table);
  bool empty() const { return what_.empty(); }

 private:
  friend class Socket;
  nlmsghdr* header(uint16_t type, uint16_t flags, std::string what);
  void finish();
  void elements(uint16_t type, uint16_t flags, const std::string& table, const std::string& map,
                const std::vector<const Element*>& elems, const char* doing);

  Socket& sock_;
  nftnl_batch* batch_;
  uint32_t first_seq_;
  std::vector<std::pair<uint32_t, std::string>> what_;  // seq, what the message does
  bool finished_ = false;
};

// The table's chains with their hooks, every rule (chain, comment, dump text, handle) and every
// element of the maps, read from the kernel. A missing table reads as empty (`exists` false).
struct KernelTable {
  bool exists = false;
  std::vector<std::pair<std::string, std::optional<Hook>>> chains;
  struct RuleRow {
    std::string chain, comment, text;
    uint64_t handle;
  };
  std::vector<RuleRow> rules;
  std::vector<Element> elements;
  std::vector<std::string> maps;
};
// What to read: chains always; rules of `rule_chain` ("" all, nullopt none); elements with
// `elements`.
Result<KernelTable> read_table(Socket& s, const std::string& table,
                               const std::optional<std::string>& rule_chain, bool elements);
// The elements among `want` the kernel holds with exactly their data (one lookup each).
Result<std::vector<const Element*>> held(Socket& s, const std::string& table,
                                         const std::vector<const Element*>& want);

}  // namespace cnm::kernel::nft
