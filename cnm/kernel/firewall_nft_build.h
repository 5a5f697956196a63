// Private to cnm/kernel: the nftables backend's plan (firewall_nft_plan.h) as libnftnl objects,
// and the text dump() gives for kernel objects and planned ones alike.
#pragma once

#include <memory>
#include <string>

#include "cnm/kernel/firewall_nft_plan.h"

struct nftnl_rule;
struct nftnl_chain;
struct nftnl_set;
struct nftnl_table;

namespace cnm::kernel::nft {

struct RuleFree {
  void operator()(nftnl_rule* r) const;
};
struct ChainFree {
  void operator()(nftnl_chain* c) const;
};
struct SetFree {
  void operator()(nftnl_set* s) const;
};
struct TableFree {
  void operator()(nftnl_table* t) const;
};
using RulePtr = std::unique_ptr<nftnl_rule, RuleFree>;
using ChainPtr = std::unique_ptr<nftnl_chain, ChainFree>;
using SetPtr = std::unique_ptr<nftnl_set, SetFree>;
using TablePtr = std::unique_ptr<nftnl_table, TableFree>;

TablePtr make_table(const std::string& table);
// A chain; with `hook` a base chain (policy accept).
ChainPtr make_chain(const std::string& table, const std::string& name,
                    const std::optional<Hook>& hook = std::nullopt);
// A rule of `chain`: the expressions of `r` and its comment.
RulePtr make_rule(const std::string& table, const std::string& chain, const Rule& r);
// Map `map` (one of kMaps), without elements.
SetPtr make_map(const std::string& table, const std::string& map);
// Map `map` holding `elems` (key and, unless `keys_only`, data).
SetPtr make_elements(const std::string& table, const std::string& map,
                     const std::vector<const Element*>& elems, bool keys_only = false);

// A rule as dump() prints it: its expressions as libnftnl prints them, then its comment.
std::string rule_text(nftnl_rule* r);
// "chain forward type filter hook forward priority 0" or "chain N-abc".
std::string chain_text(const std::string& name, const std::optional<Hook>& hook);
// The hook of a chain read from the kernel (nullopt: a regular chain).
std::optional<Hook> chain_hook(nftnl_chain* c);
// The rule's comment ("" if none).
std::string rule_comment(nftnl_rule* r);

}  // namespace cnm::kernel::nft
