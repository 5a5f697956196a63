#include "cnm/core/fw_intent.h"

#include <nlohmann/json.hpp>

namespace cnm {

nlohmann::json ports_intent(const kernel::EndpointPorts& e) {
  auto ports = nlohmann::json::array();
  for (const kernel::PortMapping& m : e.ports)
    ports.push_back({m.host_ip ? m.host_ip->str() : "", m.host_port, m.container_port, m.count,
                     static_cast<int>(m.proto)});
  nlohmann::json o{{"kind", "fw-ports"},
                   {"id12", e.id12},
                   {"bridge", e.bridge},
                   {"ip", e.container_ip.str()},
                   {"ports", ports}};
  if (e.container_ip6) o["ip6"] = e.container_ip6->str();
  return o;
}

Result<kernel::EndpointPorts> ports_from_intent(const nlohmann::json& o) {
  auto bad = [&] { return fail(Code::kInvalid, "malformed fw-ports intent: {}", o.dump()); };
  try {
    kernel::EndpointPorts e;
    e.id12 = o.at("id12").get<std::string>();
    e.bridge = o.at("bridge").get<std::string>();
    auto ip = IpAddr::parse(o.at("ip").get<std::string>());
    if (!ip) return bad();
    e.container_ip = *ip;
    if (o.contains("ip6")) {
      auto ip6 = IpAddr::parse(o.at("ip6").get<std::string>());
      if (!ip6 || !ip6->is_v6()) return bad();
      e.container_ip6 = *ip6;
    }
    for (const auto& p : o.at("ports")) {
      kernel::PortMapping m;
      if (auto h = p.at(0).get<std::string>(); !h.empty()) {
        auto hip = IpAddr::parse(h);
        if (!hip) return bad();
        m.host_ip = *hip;
      }
      m.host_port = p.at(1).get<uint16_t>();
      m.container_port = p.at(2).get<uint16_t>();
      m.count = p.at(3).get<uint16_t>();
      int proto = p.at(4).get<int>();
      if (proto < 0 || proto > static_cast<int>(kernel::Proto::kSctp)) return bad();
      m.proto = static_cast<kernel::Proto>(proto);
      e.ports.push_back(m);
    }
    return e;
  } catch (const nlohmann::json::exception&) {
    return bad();
  }
}

}  // namespace cnm
