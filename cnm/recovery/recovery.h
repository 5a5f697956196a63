// Recovery and reconcile: finishing what a crashed command left (the intent journal), and doctor
// and gc, which compare the kernel with the store and repair drift (docs/architecture.md section
// 4).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnm/containers/container_service.h"
#include "cnm/core/intent.h"
#include "cnm/core/service.h"
#include "cnm/endpoint/endpoint_service.h"
#include "cnm/kernel/firewall.h"

namespace cnm {

// What `doctor` found: differences between the kernel and the store.
struct Drift {
  std::vector<std::string> missing_rules, foreign_rules;  // iptables-save lines
  std::vector<std::string> missing_links, foreign_links;  // device names
  // Sandboxes whose namespace is gone ("name (path)"), endpoints whose host veth is gone
  // ("<network> <target> <veth>"), IPAM rows whose owner record is gone ("pool addr owner").
  std::vector<std::string> missing_netns, dead_endpoints, orphan_addresses;
  std::vector<std::string> containers;  // gc: containers, cgroups, directories repaired
  // Journal rows not finished ("<id> (<command>): <objects>[; pending|parked after N failed
  // attempt(s): <error>]"): gc could not finish them either.
  std::vector<std::string> pending_intents;
  // "not running (...)" when networks that serve DNS have endpoints and the root's DNS server
  // does not run (cnm/recovery/dns.cc); gc starts it.
  std::vector<std::string> dns_server;
  // The firewall backend (cnm/recovery/backend.cc): a switch not yet done ("store records
  // iptables, nftables is selected: ..."), and this root's objects left in the backend it does not
  // use ("iptables leftover: <line>"); gc moves and removes them.
  std::vector<std::string> backend;
  // Global-scope networks against the cluster store (cnm/recovery/overlay.cc): addresses this host
  // holds there without an endpoint here and the reverse, VXLAN entries missing or foreign; gc
  // frees, publishes and programs, and frees the addresses of hosts dead past the grace period.
  std::vector<std::string> cluster;
  // Not drift, changes nothing, and not counted: others' rules that drop this root's traffic.
  std::vector<std::string> warnings;
  size_t size() const {
    return missing_rules.size() + foreign_rules.size() + missing_links.size() +
           foreign_links.size() + missing_netns.size() + dead_endpoints.size() +
           orphan_addresses.size() + containers.size() + pending_intents.size() +
           dns_server.size() + backend.size() + cluster.size();
  }
  bool empty() const { return size() == 0; }
};

class Recovery : public Service {
 public:
  Recovery(Context& ctx, EndpointService& endpoints, ContainerService& containers)
      : Service(ctx), endpoints_(endpoints), containers_(containers) {}

  // Compares the kernel with the store; changes nothing.
  Result<Drift> doctor();
  // Repairs drift: removes netctl links and rules the store does not know, puts back missing
  // rules. Returns what it found.
  Result<Drift> gc();
  // doctor and gc for sandboxes, endpoints and IPAM rows (cnm/recovery/objects.cc): finds
  // drift, and repairs it by dropping what lost its kernel object (with its rules and addresses)
  // and releasing rows without an owner.
  Status doctor_objects(Drift& d);
  Status gc_objects(const store::WriteLock& lock, const Drift& d);

  // Finishes or undoes what a crashed command (or a failed undo) left in the intent journal, then
  // finishes containers whose supervisor died (reap_containers). Called by every write command
  // under `lock`; returns how many intents and containers were handled.
  Result<int> recover(const store::WriteLock& lock);
  // How many write commands try an intent row and fail with its error before it is parked: later
  // commands go on without it, doctor lists it, and gc keeps retrying it.
  static constexpr int kRecoverAttempts = 3;
  // The intent part of recover(); gc reaps (and reports) dead containers itself. Every row is
  // tried; one that fails stays with its attempt count and error, and the first such error is
  // returned after the others were tried. `parked_too` (gc) also retries parked rows and returns
  // no row's error: doctor_intents reports what is left.
  Result<int> recover_intents(const store::WriteLock& lock, bool parked_too = false);
  // Lists the journal rows still there in d.pending_intents.
  Status doctor_intents(Drift& d);
  // The DNS server (cnm/recovery/dns.cc): doctor reports it missing where DNS networks have
  // endpoints; gc, after its other repairs, starts it if they still have (Code::kFailed when that
  // fails).
  Status doctor_dns(Drift& d);
  Status gc_dns(const Drift& d);
  // The firewall backend (cnm/recovery/backend.cc). doctor_backend fills d.backend and
  // d.warnings. migrate_backend, run by recover() for every write command: when the store records
  // another backend than the selected one, writes the whole desired state into the selected one,
  // empties the recorded one and records the switch (all under `lock`; on failure the record
  // stays, the command fails, and the next one or gc tries again). gc_backend (gc, after it wrote
  // the desired state): empties the backend not in use when doctor found objects there, and
  // records the active one.
  Status doctor_backend(Drift& d);
  Status migrate_backend(const store::WriteLock& lock);
  Status gc_backend(const store::WriteLock& lock, const Drift& d);

 private:
  // Finishes one journal row: removes what it names, drops its records and the row.
  Status recover_intent(int64_t id, const nlohmann::json& j);
  // Removes what a crashed command's intent names: firewall rules, links, namespaces.
  Status recover_objects(const std::vector<std::string>& links,
                         const std::vector<std::string>& netns, kernel::FirewallChange& fw,
                         const std::vector<std::string>& dropped);
  // Frees the addresses (and peer records) this host holds in the cluster for global network
  // `name` that no endpoint record here has, `dropped` records not counted
  // (cnm/recovery/overlay.cc).
  Status reconcile_overlay(const std::string& name, const std::vector<std::string>& dropped);
  // doctor and gc of global-scope networks (cnm/recovery/overlay.cc).
  Status doctor_cluster(Drift& d);
  Status gc_cluster(Drift& d);
  // What the store asks for in the kernel, as the drivers of its networks name it.
  struct Desired {
    std::vector<std::string> links;
    kernel::FirewallChange fw;
  };
  Result<Desired> desired();
  // Makes the active firewall hold exactly the desired state (gc's firewall repair); returns
  // whether it changed anything.
  Result<bool> apply_desired_firewall();

  EndpointService& endpoints_;
  ContainerService& containers_;
};

}  // namespace cnm
