#include "cnm/cluster/overlay_records.h"

#include <nlohmann/json.hpp>

#include "cnm/cluster/cluster_config.h"
#include "cnm/model/model.h"
#include "cnm/model/validate.h"

namespace cnm::cluster {
namespace {

using nlohmann::json;

// A record's value is read by the JSON parser only up to this size: records are small.
constexpr size_t kMaxRecord = 4096;

bool ovl_hex64(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Parses `value` as a JSON object, or says why not.
Result<json> ovl_object(std::string_view what, std::string_view value) {
  if (value.size() > kMaxRecord)
    return fail(Code::kInvalid, "{} record: {} bytes, more than {}", what, value.size(),
                kMaxRecord);
  json j = json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Code::kInvalid, "{} record is not a JSON object", what);
  return j;
}

// A string field, required.
Result<std::string> ovl_string(const json& j, std::string_view what, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string())
    return fail(Code::kInvalid, "{} record: '{}' is missing or not a string", what, field);
  return it->get<std::string>();
}

// An unsigned integer field, required, at most `max`.
Result<uint64_t> ovl_uint(const json& j, std::string_view what, const char* field, uint64_t max) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_number_unsigned() || it->get<uint64_t>() > max)
    return fail(Code::kInvalid, "{} record: '{}' is missing or not an integer in 0-{}", what, field,
                max);
  return it->get<uint64_t>();
}

Result<IpAddr> ovl_ipv4(std::string_view what, std::string_view text) {
  auto ip = IpAddr::parse(text);
  if (!ip || ip->is_v6() || ip->str() != text)
    return fail(Code::kInvalid, "{}: '{}' is not an IPv4 address", what, printable(text));
  return *ip;
}

}  // namespace

std::optional<OverlayKeys::Parsed> OverlayKeys::parse(std::string_view key) const {
  if (!key.starts_with(prefix_)) return std::nullopt;
  key.remove_prefix(prefix_.size());
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  Parsed p{std::string(key.substr(0, slash)), std::string(key.substr(slash + 1)), ""};
  if (p.kind == "addrs" || p.kind == "peers") {
    size_t s2 = p.name.find('/');
    if (s2 == std::string::npos) return std::nullopt;
    p.ip = p.name.substr(s2 + 1);
    p.name.resize(s2);
  }
  if (p.name.empty() || p.name.find('/') != std::string::npos) return std::nullopt;
  return p;
}

Status check_host_id(std::string_view host_id) { return validate_name("host", host_id); }

Status check_network(const OverlayNetwork& n) {
  CNM_TRY(validate_name("network", n.name));
  if (!ovl_hex64(n.id))
    return fail(Code::kInvalid, "network {}: id '{}' is not 64 lowercase hex characters", n.name,
                printable(n.id));
  const Prefix& s = n.subnet;
  if (!s.addr().valid() || s.is_v6() || s.len() < 8 || s.len() > 30)
    return fail(Code::kInvalid, "network {}: subnet '{}' is not an IPv4 prefix of /8 to /30",
                n.name, s.addr().valid() ? s.str() : "");
  if (!n.gateway.valid() || !s.contains(n.gateway) || n.gateway == s.network() ||
      n.gateway == s.last())
    return fail(Code::kInvalid, "network {}: gateway '{}' is not a host address of {}", n.name,
                n.gateway.valid() ? n.gateway.str() : "", s.str());
  if (n.vni < 1 || n.vni > kVniLast)
    return fail(Code::kInvalid, "network {}: VNI {} is not in 1-{}", n.name, n.vni, kVniLast);
  if (n.mtu != 0 && (n.mtu < 68 || n.mtu > 65535))
    return fail(Code::kInvalid, "network {}: MTU {} is not in 68-65535", n.name, n.mtu);
  return {};
}

Status check_peer(const PeerRecord& p, const Prefix& subnet) {
  if (!p.ip.valid() || p.ip.is_v6() || !subnet.contains(p.ip) || p.ip == subnet.network() ||
      p.ip == subnet.last())
    return fail(Code::kInvalid, "peer {}: not a host address of {}",
                p.ip.valid() ? p.ip.str() : "(none)", subnet.str());
  CNM_TRY(validate_mac(p.mac));
  if (p.mac != overlay_mac(p.ip))
    return fail(Code::kInvalid, "peer {}: MAC {} is not {}", p.ip.str(), p.mac, overlay_mac(p.ip));
  if (!p.vtep.valid() || !parse_cluster_advertise(p.vtep.str()))
    return fail(Code::kInvalid, "peer {}: VTEP '{}' is not a unicast address", p.ip.str(),
                p.vtep.valid() ? p.vtep.str() : "");
  CNM_TRY(check_host_id(p.host_id));
  return validate_name("endpoint", p.endpoint_id);
}

std::string overlay_mac(const IpAddr& ip) { return mac_from(ip); }

std::string encode_network(const OverlayNetwork& n) {
  return json{
      {"name", n.name}, {"id", n.id},  {"subnet", n.subnet.str()}, {"gateway", n.gateway.str()},
      {"vni", n.vni},   {"mtu", n.mtu}}
      .dump();
}

Result<OverlayNetwork> decode_network(std::string_view value) {
  auto j = CNM_VALUE(ovl_object("network", value));
  OverlayNetwork n;
  n.name = CNM_VALUE(ovl_string(j, "network", "name"));
  n.id = CNM_VALUE(ovl_string(j, "network", "id"));
  auto subnet = CNM_VALUE(ovl_string(j, "network", "subnet"));
  auto s = Prefix::parse(subnet);
  if (!s) return fail(Code::kInvalid, "network record: subnet '{}' is invalid", printable(subnet));
  n.subnet = *s;
  auto gw = CNM_VALUE(ovl_string(j, "network", "gateway"));
  n.gateway = CNM_VALUE(ovl_ipv4("network record: gateway", gw));
  n.vni = static_cast<uint32_t>(CNM_VALUE(ovl_uint(j, "network", "vni", kVniLast)));
  n.mtu = static_cast<unsigned>(CNM_VALUE(ovl_uint(j, "network", "mtu", 65535)));
  CNM_TRY(check_network(n));
  return n;
}

std::string encode_vni_owner(const OverlayNetwork& n) {
  return json{{"network", n.name}, {"id", n.id}}.dump();
}

Result<std::string> decode_vni_owner(std::string_view value) {
  auto j = CNM_VALUE(ovl_object("VNI", value));
  auto name = CNM_VALUE(ovl_string(j, "VNI", "network"));
  CNM_TRY(validate_name("network", name));
  return name;
}

std::string encode_address_owner(std::string_view host_id) {
  return json{{"host", host_id}}.dump();
}

Result<std::string> decode_address_owner(std::string_view value) {
  auto j = CNM_VALUE(ovl_object("address", value));
  auto host = CNM_VALUE(ovl_string(j, "address", "host"));
  CNM_TRY(check_host_id(host));
  return host;
}

std::string encode_peer(const PeerRecord& p) {
  return json{{"ip", p.ip.str()},
              {"mac", p.mac},
              {"vtep", p.vtep.str()},
              {"host", p.host_id},
              {"endpoint", p.endpoint_id}}
      .dump();
}

Result<PeerRecord> decode_peer(std::string_view value, const Prefix& subnet) {
  auto j = CNM_VALUE(ovl_object("peer", value));
  PeerRecord p;
  p.ip = CNM_VALUE(ovl_ipv4("peer record: ip", CNM_VALUE(ovl_string(j, "peer", "ip"))));
  p.mac = CNM_VALUE(ovl_string(j, "peer", "mac"));
  auto vtep = CNM_VALUE(ovl_string(j, "peer", "vtep"));
  auto v = IpAddr::parse(vtep);
  if (!v) return fail(Code::kInvalid, "peer record: vtep '{}' is invalid", printable(vtep));
  p.vtep = *v;
  p.host_id = CNM_VALUE(ovl_string(j, "peer", "host"));
  p.endpoint_id = CNM_VALUE(ovl_string(j, "peer", "endpoint"));
  CNM_TRY(check_peer(p, subnet));
  return p;
}

std::string encode_host(const HostRecord& h) {
  return json{{"host", h.host_id}, {"vtep", h.vtep.str()}}.dump();
}

Result<HostRecord> decode_host(std::string_view value) {
  auto j = CNM_VALUE(ovl_object("host", value));
  HostRecord h;
  h.host_id = CNM_VALUE(ovl_string(j, "host", "host"));
  CNM_TRY(check_host_id(h.host_id));
  auto vtep = CNM_VALUE(ovl_string(j, "host", "vtep"));
  auto v = parse_cluster_advertise(vtep);
  if (!v) return fail(Code::kInvalid, "host {}: vtep '{}' is invalid", h.host_id, printable(vtep));
  auto ip = IpAddr::parse(*v);
  if (!ip) return fail(Code::kInvalid, "host {}: vtep '{}' is invalid", h.host_id, printable(vtep));
  h.vtep = *ip;
  return h;
}

std::string encode_ack(const AckRecord& a) {
  return json{{"host", a.host_id}, {"revision", a.revision}}.dump();
}

Result<AckRecord> decode_ack(std::string_view value) {
  auto j = CNM_VALUE(ovl_object("ack", value));
  AckRecord a;
  a.host_id = CNM_VALUE(ovl_string(j, "ack", "host"));
  CNM_TRY(check_host_id(a.host_id));
  constexpr uint64_t kMaxRevision = static_cast<uint64_t>(INT64_MAX);
  a.revision = static_cast<int64_t>(CNM_VALUE(ovl_uint(j, "ack", "revision", kMaxRevision)));
  if (a.revision < 1)
    return fail(Code::kInvalid, "ack record of host {}: revision 0 is not one", a.host_id);
  return a;
}

}  // namespace cnm::cluster
