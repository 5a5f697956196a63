#include "tests/fakes/fake_firewall.h"

#include <string>
#include <utility>
#include <vector>

#include "cnm/kernel/firewall_engine.h"
#include "cnm/kernel/firewall_plan.h"

namespace cnm::kernel {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

template <class T>
std::vector<std::string> ids(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const T& item : items) out.push_back(item.id12);
  return out;
}

std::string describe(const FirewallChange& c) {
  std::string line = "apply";
  auto part = [&](const char* what, const std::vector<std::string>& items) {
    if (!items.empty()) line += fmt::format(" {} {}", what, join(items));
  };
  part("+net", ids(c.add_networks));
  part("-net", c.remove_networks);
  part("+ports", ids(c.add_ports));
  part("-ports", ids(c.remove_ports));
  if (c.bridges) line += " bridges=" + join(*c.bridges);
  if (c.bridges6) line += " bridges6=" + join(*c.bridges6);
  if (c.ipv6) line += " ipv6";
  return line;
}

}  // namespace

FakeFirewall::FakeFirewall(StepCounter* steps, const std::string& root_id)
    : steps_(steps != nullptr ? steps : &own_steps_), tables_(make_memory_firewall(root_id)) {}

FakeFirewall::~FakeFirewall() = default;

Status FakeFirewall::apply(const FirewallChange& c) {
  std::string line = describe(c);
  Status st = run(c);
  if (!st) line += " -> " + st.error().message;
  log.push_back(std::move(line));
  return st;
}

Status FakeFirewall::run(const FirewallChange& c) {
  CNM_TRY(fw::check_root_id(root_id()));
  CNM_TRY(fw::validate(c));  // an invalid change is refused before it counts as a kernel step
  if (steps_->tick()) return fail(Code::kFailed, "injected failure at step {}", steps_->steps);
  CNM_TRY(tables_->apply(c));
  for (const std::string& id : c.remove_networks) networks.erase(id);
  for (const EndpointPorts& e : c.remove_ports) ports.erase(e.id12);
  for (const NetworkRules& n : c.add_networks) networks[n.id12] = n;
  for (const EndpointPorts& e : c.add_ports) ports[e.id12] = e;
  if (c.bridges) bridges = *c.bridges;
  if (c.bridges6) bridges6 = *c.bridges6;
  opened.push_back(fw::tables_for(c));
  return {};
}

Result<std::vector<std::string>> FakeFirewall::dump() { return tables_->dump(); }

}  // namespace cnm::kernel
