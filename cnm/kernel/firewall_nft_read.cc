// Reading the nftables backend's table back from the kernel (firewall_nft_netlink.h).
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "cnm/kernel/firewall_nft_netlink.h"

namespace cnm::kernel::nft {
namespace {

std::string bytes(nftnl_set_elem* e, uint16_t attr) {
  uint32_t len = 0;
  const void* p = nftnl_set_elem_get(e, attr, &len);
  return p == nullptr ? "" : std::string(static_cast<const char*>(p), len);
}

// Every element of map `map` (NFT_MSG_GETSETELEM as a dump), appended to `out`.
Status read_elements(Socket& s, const std::string& table, const std::string& map,
                     std::vector<Element>& out) {
  SetPtr req = make_elements(table, map, {});
  return s.query(
      NFT_MSG_GETSETELEM, true,
      [&](nlmsghdr* h) { nftnl_set_elems_nlmsg_build_payload(h, req.get()); },
      [&](const nlmsghdr* h) {
        SetPtr got(nftnl_set_alloc());
        if (nftnl_set_elems_nlmsg_parse(h, got.get()) < 0) return;
        nftnl_set_elems_iter* it = nftnl_set_elems_iter_create(got.get());
        for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it); e != nullptr;
             e = nftnl_set_elems_iter_next(it))
          out.push_back({map, bytes(e, NFTNL_SET_ELEM_KEY), bytes(e, NFTNL_SET_ELEM_DATA)});
        nftnl_set_elems_iter_destroy(it);
      });
}

Status read_chains(Socket& s, const std::string& table, KernelTable& out) {
  return s.query(
      NFT_MSG_GETCHAIN, true, [](nlmsghdr*) {},
      [&](const nlmsghdr* h) {
        ChainPtr c(nftnl_chain_alloc());
        if (nftnl_chain_nlmsg_parse(h, c.get()) < 0) return;
        const char* t = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
        if (t == nullptr || table != t ||
            nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY) != NFPROTO_INET)
          return;
        out.chains.emplace_back(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME),
                                chain_hook(c.get()));
      });
}

Status read_rules(Socket& s, const std::string& table, const std::string& chain, KernelTable& out) {
  RulePtr req(nftnl_rule_alloc());
  nftnl_rule_set_str(req.get(), NFTNL_RULE_TABLE, table.c_str());
  if (!chain.empty()) nftnl_rule_set_str(req.get(), NFTNL_RULE_CHAIN, chain.c_str());
  return s.query(
      NFT_MSG_GETRULE, true, [&](nlmsghdr* h) { nftnl_rule_nlmsg_build_payload(h, req.get()); },
      [&](const nlmsghdr* h) {
        RulePtr r(nftnl_rule_alloc());
        if (nftnl_rule_nlmsg_parse(h, r.get()) < 0) return;
        const char* t = nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE);
        const char* c = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
        if (t == nullptr || c == nullptr || table != t ||
            nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY) != NFPROTO_INET ||
            (!chain.empty() && chain != c))
          return;
        out.rules.push_back({c, rule_comment(r.get()), rule_text(r.get()),
                             nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE)});
      });
}

Status read_maps(Socket& s, const std::string& table, KernelTable& out) {
  SetPtr req(nftnl_set_alloc());
  nftnl_set_set_str(req.get(), NFTNL_SET_TABLE, table.c_str());
  return s.query(
      NFT_MSG_GETSET, true, [&](nlmsghdr* h) { nftnl_set_nlmsg_build_payload(h, req.get()); },
      [&](const nlmsghdr* h) {
        SetPtr got(nftnl_set_alloc());
        if (nftnl_set_nlmsg_parse(h, got.get()) < 0) return;
        const char* t = nftnl_set_get_str(got.get(), NFTNL_SET_TABLE);
        if (t != nullptr && table == t)
          out.maps.push_back(nftnl_set_get_str(got.get(), NFTNL_SET_NAME));
      });
}

}  // namespace

Result<KernelTable> read_table(Socket& s, const std::string& table,
                               const std::optional<std::string>& rule_chain, bool elements) {
  KernelTable out;
  CNM_TRY(read_chains(s, table, out));
  // Asking for the sets of a table that is not there is ENOENT.
  if (Status st = read_maps(s, table, out); !st) {
    if (st.error().code == Code::kNotFound) return out;
    return std::unexpected(st.error());
  }
  out.exists = true;
  if (rule_chain) CNM_TRY(read_rules(s, table, *rule_chain, out));
  if (elements)
    for (const std::string& map : out.maps) CNM_TRY(read_elements(s, table, map, out.elements));
  return out;
}

Result<std::vector<const Element*>> held(Socket& s, const std::string& table,
                                         const std::vector<const Element*>& want) {
  std::vector<std::string> data(want.size());
  std::vector<bool> found(want.size());
  CNM_TRY(s.query_each(
      NFT_MSG_GETSETELEM, want.size(),
      [&](size_t i, nlmsghdr* h) {
        SetPtr req = make_elements(table, want[i]->map, {want[i]}, true);
        nftnl_set_elems_nlmsg_build_payload(h, req.get());
      },
      [&](size_t i, const nlmsghdr* h) {
        SetPtr got(nftnl_set_alloc());
        if (nftnl_set_elems_nlmsg_parse(h, got.get()) < 0) return;
        nftnl_set_elems_iter* it = nftnl_set_elems_iter_create(got.get());
        if (nftnl_set_elem* el = nftnl_set_elems_iter_next(it)) {
          data[i] = bytes(el, NFTNL_SET_ELEM_DATA);
          found[i] = true;
        }
        nftnl_set_elems_iter_destroy(it);
      }));
  std::vector<const Element*> out;
  for (size_t i = 0; i < want.size(); ++i)
    if (found[i] && data[i] == want[i]->data) out.push_back(want[i]);
  return out;
}

}  // namespace cnm::kernel::nft
