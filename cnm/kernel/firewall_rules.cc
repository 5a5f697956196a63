#include "cnm/kernel/firewall_rules.h"

#include <fmt/format.h>

namespace cnm::kernel::fw {
namespace {

void iface(std::string& out, bool negate, const char* flag, const std::string& name) {
  if (name.empty()) return;
  out += fmt::format("{}{} {} ", negate ? "! " : "", flag, name);
}

std::string ctstates(uint8_t bits) {
  std::string out;
  // iptables prints states in this order.
  for (auto [bit, name] : {std::pair<uint8_t, const char*>{kCtRelated, "RELATED"},
                           {kCtEstablished, "ESTABLISHED"},
                           {kCtDnat, "DNAT"}}) {
    if ((bits & bit) == 0) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

std::string ports(uint16_t lo, uint16_t hi, char sep) {
  return lo == hi ? fmt::format("{}", lo) : fmt::format("{}{}{}", lo, sep, hi);
}

}  // namespace

const char* table_name(Table t) {
  switch (t) {
    case Table::kFilter:
      return "filter";
    case Table::kNat:
      return "nat";
    case Table::kRaw:
      return "raw";
  }
  return "?";
}

std::string table_label(Family f, Table t) {
  return std::string(table_name(t)) + (f == Family::kV6 ? "6" : "");
}

const char* proto_name(Proto p) {
  switch (p) {
    case Proto::kTcp:
      return "tcp";
    case Proto::kUdp:
      return "udp";
    case Proto::kSctp:
      return "sctp";
  }
  return "?";
}

std::string render(const Rule& r) {
  std::string out;
  if (r.src) out += fmt::format("-s {} ", r.src->str());
  if (r.dst) out += fmt::format("-d {} ", r.dst->str());
  iface(out, r.not_in, "-i", r.in);
  iface(out, r.not_out, "-o", r.out);
  if (r.proto) out += fmt::format("-p {} ", proto_name(*r.proto));
  if (r.dst_local) out += "-m addrtype --dst-type LOCAL ";
  if (r.ctstate != 0) out += fmt::format("-m conntrack --ctstate {} ", ctstates(r.ctstate));
  if (r.dport_lo != 0 && r.proto) {
    out +=
        fmt::format("-m {} --dport {} ", proto_name(*r.proto), ports(r.dport_lo, r.dport_hi, ':'));
  }
  if (!r.other.empty()) out += r.other + " ";
  if (r.target.empty()) {  // a rule without a target only counts packets
    if (!out.empty()) out.pop_back();
    return out;
  }
  out += fmt::format("-j {}", r.target);
  if (r.target == "DNAT") {
    // ip6tables brackets the address when a port follows.
    bool bracket = r.to_addr.is_v6() && r.to_lo != 0;
    std::string addr = bracket ? "[" + r.to_addr.str() + "]" : r.to_addr.str();
    out += " --to-destination " + addr;
    if (r.to_lo != 0) out += ":" + ports(r.to_lo, r.to_hi, '-');
    if (r.to_base != 0) out += fmt::format("/{}", r.to_base);
  }
  return out;
}

}  // namespace cnm::kernel::fw
