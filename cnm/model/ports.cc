#include "cnm/model/ports.h"

#include <charconv>
#include <vector>

namespace cnm {
namespace {

std::unexpected<Error> bad(std::string_view spec, std::string_view why) {
  return fail(Code::kInvalid, "invalid port specification '{}': {}", spec, why);
}

// "N" or "N-M" -> (first, count); `allow_zero` for an unset host port.
Result<std::pair<uint16_t, uint16_t>> parse_range(std::string_view spec, std::string_view text,
                                                  bool allow_zero) {
  auto dash = text.find('-');
  auto num = [&](std::string_view t) -> Result<uint16_t> {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc{} || p != t.data() + t.size() || v > 65535 ||
        (v == 0 && !allow_zero))
      return bad(spec, fmt::format("'{}' is not a port number (1-65535)", t));
    return static_cast<uint16_t>(v);
  };
  auto first = CNM_VALUE(num(text.substr(0, dash)));
  if (dash == std::string_view::npos) return std::pair<uint16_t, uint16_t>{first, 1};
  auto last = CNM_VALUE(num(text.substr(dash + 1)));
  if (last < first || first == 0) return bad(spec, fmt::format("range '{}' is backwards", text));
  return std::pair<uint16_t, uint16_t>{first, static_cast<uint16_t>(last - first + 1)};
}

}  // namespace

Result<PortSpec> parse_port_spec(std::string_view spec) {
  PortSpec out;
  std::string_view rest = spec;
  if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    auto proto = rest.substr(slash + 1);
    if (proto == "tcp")
      out.proto = Proto::kTcp;
    else if (proto == "udp")
      out.proto = Proto::kUdp;
    else if (proto == "sctp")
      out.proto = Proto::kSctp;
    else
      return bad(spec, fmt::format("unknown protocol '{}' (tcp, udp or sctp)", proto));
    rest = rest.substr(0, slash);
  }
  std::string_view host_ip, host_port, port;
  if (rest.starts_with('[')) {  // [v6]:host:port
    auto close = rest.find("]:");
    if (close == std::string_view::npos) return bad(spec, "unterminated [IPv6 address]");
    host_ip = rest.substr(1, close - 1);
    rest = rest.substr(close + 2);
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return bad(spec, "expected [HOSTIP]:HOSTPORT:PORT");
    host_port = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  } else {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (size_t i = 0; i <= rest.size(); ++i)
      if (i == rest.size() || rest[i] == ':') {
        parts.push_back(rest.substr(start, i - start));
        start = i + 1;
      }
    if (parts.size() > 3) return bad(spec, "too many ':' (IPv6 host addresses go in [brackets])");
    port = parts.back();
    if (parts.size() >= 2) host_port = parts[parts.size() - 2];
    if (parts.size() == 3) host_ip = parts[0];
  }
  if (!host_ip.empty()) {
    auto ip = IpAddr::parse(host_ip);
    if (!ip) return bad(spec, fmt::format("'{}' is not an IP address", host_ip));
    out.host_ip = *ip;
  }
  auto c = CNM_VALUE(parse_range(spec, port, false));
  out.port = c.first;
  out.count = c.second;
  if (!host_port.empty()) {
    auto h = CNM_VALUE(parse_range(spec, host_port, true));
    if (h.first != 0 && h.second != out.count)
      return bad(spec, "host and container port ranges differ in length");
    if (h.first == 0 && h.second != 1) return bad(spec, "host port 0 cannot start a range");
    out.host_port = h.first;
  }
  if (out.host_port != 0 && out.host_port + out.count - 1 > 65535)
    return bad(spec, "host port range passes 65535");
  return out;
}

std::string_view proto_name(Proto p) {
  switch (p) {
    case Proto::kUdp:
      return "udp";
    case Proto::kSctp:
      return "sctp";
    case Proto::kTcp:
      break;
  }
  return "tcp";
}

std::string port_spec_str(const PortSpec& p) {
  auto range = [&](uint16_t first) {
    return p.count == 1 ? fmt::format("{}", first)
                        : fmt::format("{}-{}", first, first + p.count - 1);
  };
  std::string ip = p.host_ip
                       ? (p.host_ip->is_v6() ? "[" + p.host_ip->str() + "]" : p.host_ip->str())
                       : "0.0.0.0";
  return fmt::format("{}:{}->{}/{}", ip, range(p.host_port), range(p.port), proto_name(p.proto));
}

}  // namespace cnm
