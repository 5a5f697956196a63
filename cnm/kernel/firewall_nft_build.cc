#include "cnm/kernel/firewall_nft_build.h"

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include <array>
#include <cstring>

namespace cnm::kernel::nft {
namespace {

constexpr uint32_t kIpsDstNat = 0x20;  // IPS_DST_NAT
constexpr int kRtnLocal = 2;           // RTN_LOCAL
constexpr size_t kIfnamsiz = 16;

// The register holding byte `offset` of a concatenation: a 16-byte register where one starts.
uint32_t reg_at(uint32_t offset) {
  return offset % 16 == 0 ? NFT_REG_1 + offset / 16 : NFT_REG32_00 + offset / 4;
}

nftnl_expr* expr(nftnl_rule* r, const char* name) {
  nftnl_expr* e = nftnl_expr_alloc(name);
  nftnl_rule_add_expr(r, e);
  return e;
}

void meta(nftnl_rule* r, uint32_t key, uint32_t dreg) {
  nftnl_expr* e = expr(r, "meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

void cmp(nftnl_rule* r, uint32_t op, const void* data, uint32_t len) {
  nftnl_expr* e = expr(r, "cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

void payload(nftnl_rule* r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
  nftnl_expr* e = expr(r, "payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

void bitwise(nftnl_rule* r, const void* mask, uint32_t len) {
  std::array<uint8_t, 16> zero{};
  nftnl_expr* e = expr(r, "bitwise");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero.data(), len);
}

void nfproto(nftnl_rule* r, bool v6) {
  uint8_t family = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  meta(r, NFT_META_NFPROTO, NFT_REG_1);
  cmp(r, NFT_CMP_EQ, &family, 1);
}

// ip saddr/daddr within `p`: the prefix's whole bytes compared, a partial byte masked first.
void address(nftnl_rule* r, const Prefix& p, bool source) {
  if (p.len() == 0) return;
  bool v6 = p.is_v6();
  uint32_t offset = v6 ? (source ? 8 : 24) : (source ? 12 : 16);
  uint32_t len = (static_cast<uint32_t>(p.len()) + 7) / 8;
  payload(r, NFT_PAYLOAD_NETWORK_HEADER, offset, len, NFT_REG_1);
  auto bytes = p.network().bytes();
  if (p.len() % 8 != 0) {
    std::array<uint8_t, 16> mask{};
    for (int i = 0; i < p.len(); ++i) mask[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
    bitwise(r, mask.data(), len);
  }
  cmp(r, NFT_CMP_EQ, bytes.data(), len);
}

void ifname(nftnl_rule* r, bool out, const std::string& name, bool negate) {
  if (name.empty()) return;
  std::array<char, kIfnamsiz> buf{};
  std::memcpy(buf.data(), name.data(), std::min(name.size(), kIfnamsiz - 1));
  meta(r, out ? NFT_META_OIFNAME : NFT_META_IIFNAME, NFT_REG_1);
  cmp(r, negate ? NFT_CMP_NEQ : NFT_CMP_EQ, buf.data(), kIfnamsiz);
}

void ct_bits(nftnl_rule* r, uint32_t key, uint32_t bits) {
  nftnl_expr* e = expr(r, "ct");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
  uint32_t zero = 0;
  bitwise(r, &bits, 4);
  cmp(r, NFT_CMP_NEQ, &zero, 4);
}

void fib_local(nftnl_rule* r) {
  nftnl_expr* e = expr(r, "fib");
  nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
  nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
  nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
  uint32_t local = kRtnLocal;
  cmp(r, NFT_CMP_EQ, &local, 4);
}

void immediate(nftnl_rule* r, int verdict, const std::string& chain = "") {
  nftnl_expr* e = expr(r, "immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(verdict));
  if (!chain.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain.c_str());
}

// dnat to the map's data (address . port) looked up by [daddr .] l4proto . th dport.
void dnat_map(nftnl_rule* r, const std::string& map) {
  MapType t = map_type(map);
  uint32_t alen = t.v6 ? 16 : 4, at = 0;
  if (map.ends_with("h")) {
    payload(r, NFT_PAYLOAD_NETWORK_HEADER, t.v6 ? 24 : 16, alen, NFT_REG_1);
    at = alen;
  }
  meta(r, NFT_META_L4PROTO, reg_at(at));
  payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg_at(at + 4));
  nftnl_expr* l = expr(r, "lookup");
  nftnl_expr_set_u32(l, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(l, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
  nftnl_expr_set_str(l, NFTNL_EXPR_LOOKUP_SET, map.c_str());
  nftnl_expr_set_u32(l, NFTNL_EXPR_LOOKUP_FLAGS, 0);
  nftnl_expr* n = expr(r, "nat");
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_FAMILY, t.v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_at(alen));
  // What the kernel fills in itself, set so the dump reads the same as the plan.
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_1);
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_REG_PROTO_MAX, reg_at(alen));
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
}

void comment(nftnl_rule* r, const std::string& text) {
  nftnl_udata_buf* buf = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
  nftnl_udata_put_strz(buf, NFTNL_UDATA_RULE_COMMENT, text.c_str());
  nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(buf), nftnl_udata_buf_len(buf));
  nftnl_udata_buf_free(buf);
}

int comment_cb(const nftnl_udata* attr, void* data) {
  if (nftnl_udata_type(attr) != NFTNL_UDATA_RULE_COMMENT) return 0;
  const char* s = static_cast<const char*>(nftnl_udata_get(attr));
  *static_cast<std::string*>(data) = std::string(s, strnlen(s, nftnl_udata_len(attr)));
  return 0;
}

constexpr std::array<std::pair<const char*, uint32_t>, 4> kHooks{
    {{"prerouting", NF_INET_PRE_ROUTING},
     {"forward", NF_INET_FORWARD},
     {"output", NF_INET_LOCAL_OUT},
     {"postrouting", NF_INET_POST_ROUTING}}};

}  // namespace

void RuleFree::operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
void ChainFree::operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
void SetFree::operator()(nftnl_set* s) const { nftnl_set_free(s); }
void TableFree::operator()(nftnl_table* t) const { nftnl_table_free(t); }

TablePtr make_table(const std::string& table) {
  TablePtr t(nftnl_table_alloc());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table.c_str());
  return t;
}

ChainPtr make_chain(const std::string& table, const std::string& name,
                    const std::optional<Hook>& hook) {
  ChainPtr c(nftnl_chain_alloc());
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
  if (hook) {
    for (const auto& [n, num] : kHooks)
      if (std::strcmp(n, hook->hook) == 0) nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, num);
    nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, hook->priority);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, hook->type);
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
  }
  return c;
}

RulePtr make_rule(const std::string& table, const std::string& chain, const Rule& r) {
  RulePtr out(nftnl_rule_alloc());
  nftnl_rule* p = out.get();
  nftnl_rule_set_u32(p, NFTNL_RULE_FAMILY, NFPROTO_INET);
  nftnl_rule_set_str(p, NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(p, NFTNL_RULE_CHAIN, chain.c_str());
  const Prefix* addr = r.saddr ? &*r.saddr : r.daddr ? &*r.daddr : nullptr;
  if (addr != nullptr || r.family != L3::kAny)
    nfproto(p, addr != nullptr ? addr->is_v6() : r.family == L3::kV6);
  if (r.saddr) address(p, *r.saddr, true);
  if (r.daddr) address(p, *r.daddr, false);
  ifname(p, false, r.iif, r.not_iif);
  ifname(p, true, r.oif, r.not_oif);
  if (r.ct_state != 0) ct_bits(p, NFT_CT_STATE, r.ct_state);
  if (r.ct_dnat) ct_bits(p, NFT_CT_STATUS, kIpsDstNat);
  if (r.fib_local) fib_local(p);
  switch (r.verdict) {
    case Verdict::kAccept:
      immediate(p, NF_ACCEPT);
      break;
    case Verdict::kDrop:
      immediate(p, NF_DROP);
      break;
    case Verdict::kReturn:
      immediate(p, NFT_RETURN);
      break;
    case Verdict::kJump:
      immediate(p, NFT_JUMP, r.target);
      break;
    case Verdict::kMasquerade:
      expr(p, "masq");
      break;
    case Verdict::kDnatMap:
      dnat_map(p, r.target);
      break;
  }
  if (!r.comment.empty()) comment(p, r.comment);
  return out;
}

SetPtr make_map(const std::string& table, const std::string& map) {
  MapType t = map_type(map);
  SetPtr s(nftnl_set_alloc());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, map.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, NFT_SET_MAP);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, t.key_type);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, t.key_len);
  nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, t.data_type);
  nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, t.data_len);
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, t.key_type);  // the kernel wants one, unique per batch
  return s;
}

SetPtr make_elements(const std::string& table, const std::string& map,
                     const std::vector<const Element*>& elems, bool keys_only) {
  SetPtr s(nftnl_set_alloc());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, map.c_str());
  for (const Element* e : elems) {
    nftnl_set_elem* el = nftnl_set_elem_alloc();
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, e->key.data(), static_cast<uint32_t>(e->key.size()));
    if (!keys_only)
      nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA, e->data.data(),
                         static_cast<uint32_t>(e->data.size()));
    nftnl_set_elem_add(s.get(), el);
  }
  return s;
}

std::string rule_comment(nftnl_rule* r) {
  uint32_t len = 0;
  const void* data = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
  std::string out;
  if (data != nullptr) nftnl_udata_parse(data, len, comment_cb, &out);
  return out;
}

std::string rule_text(nftnl_rule* r) {
  std::string out;
  nftnl_expr_iter* it = nftnl_expr_iter_create(r);
  std::array<char, 512> buf{};
  for (nftnl_expr* e = nftnl_expr_iter_next(it); e != nullptr; e = nftnl_expr_iter_next(it)) {
    nftnl_expr_snprintf(buf.data(), buf.size(), e, NFTNL_OUTPUT_DEFAULT, 0);
    out += fmt::format("{}[ {} {}]", out.empty() ? "" : " ", nftnl_expr_get_str(e, NFTNL_EXPR_NAME),
                       buf.data());
  }
  nftnl_expr_iter_destroy(it);
  std::string c = rule_comment(r);
  if (!c.empty()) out += " comment \"" + c + "\"";
  return out;
}

std::string chain_text(const std::string& name, const std::optional<Hook>& hook) {
  if (!hook) return "chain " + name;
  return fmt::format("chain {} type {} hook {} priority {} policy accept", name, hook->type,
                     hook->hook, hook->priority);
}

std::optional<Hook> chain_hook(nftnl_chain* c) {
  if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) return std::nullopt;
  uint32_t num = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
  Hook h{"?", "?", nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO)};
  for (const auto& [n, k] : kHooks)
    if (k == num) h.hook = n;
  const char* type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);
  h.type = type != nullptr && std::strcmp(type, "nat") == 0 ? "nat" : "filter";
  return h;
}

}  // namespace cnm::kernel::nft
