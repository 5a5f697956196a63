// Containers: `netctl run` and the commands on what it started (exec, stop, kill, rm), the
// supervisor's exit callback, and the reaping of containers whose supervisor died.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cnm/core/service.h"
#include "cnm/endpoint/endpoint_service.h"
#include "cnm/network/network_service.h"

namespace cnm {
class Txn;
struct ContainerIntent;
namespace launcher {
class Cgroups;
class Plan;
struct Pipes;
}  // namespace launcher

class ContainerService : public Service {
 public:
  ContainerService(Context& ctx, NetworkService& networks, EndpointService& endpoints)
      : Service(ctx), networks_(networks), endpoints_(endpoints) {}

  // Runs a workload (cnm/containers/run.cc): its namespaces, cgroups, rootfs and endpoints are
  // ready before exec. Foreground: waits and returns its exit code (128+N for signal N); detached
  // (`-d`): prints nothing, returns 0 once it runs and the supervisor waits for it. `started`
  // is called with the container once it runs (the CLI prints the id for -d).
  Result<int> run(const RunRequest& req, const std::function<void(const Container&)>& started);
  // Called by the supervisor (`netctl container-exited ID`) once the workload exited: records the
  // exit status it wrote, tears down endpoints and port rules; --rm removes everything.
  Status container_exited(const std::string& id);
  // TERM (or `sig`), then KILL after `timeout_s`; returns once the teardown finished.
  Status stop_container(const std::string& name, int timeout_s);
  Status kill_container(const std::string& name, int sig);
  // A running container is Code::kConflict unless `force` (which kills it first).
  Status remove_containers(const std::vector<std::string>& names, bool force);
  // Runs `cmd` inside a running container's namespaces and cgroups; returns its exit code.
  Result<int> exec_container(const ExecRequest& r);
  // Containers not exited whose supervisor (the shim, or the netctl process
  // running them in the foreground or setting them up) is gone get their cgroup killed and are
  // finished like an exit (endpoints and port rules removed; --rm ones removed). Returns them.
  Result<std::vector<std::string>> reap_containers(const store::WriteLock& lock);
  // From gc: reap_containers, then removes cgroups and container
  // directories no record knows. Returns what it repaired.
  Result<std::vector<std::string>> gc_containers(const store::WriteLock& lock);
  // What gc_containers would repair, changing nothing (for doctor).
  Result<std::vector<std::string>> container_drift();
  // Removes what a crashed `run` declared (intent kind "container").
  Status recover_container(const ContainerIntent& object);

 private:
  NetworkService& networks_;
  EndpointService& endpoints_;
  Result<Container> create_container(const RunRequest& req);
  // Records the exit, removes endpoints (and with auto_remove everything).
  Status finish_container(const store::WriteLock& lock, Container c, int wait_status, bool known);
  Status put_container(const Container& c);
  // Removes cgroups, directory and record of an exited container within `tx`.
  Status remove_container(Txn& tx, const Container& c);
  // The cgroups under the configured parent whose leaves carry this root's id (doctor, gc).
  Result<std::unique_ptr<launcher::Cgroups>> own_cgroups();
  // Moves the held workload into its cgroups, records it running, connects its networks `nets`
  // (r.networks, with r.network_aliases and its name for DNS), makes sure the DNS server serves
  // them, and writes its /etc files (resolv.conf: netctl's DNS server when one of them serves DNS).
  Status attach_workload(Container& c, int supervisor, int pid, const RunRequest& r,
                         const std::vector<Network>& nets);
  // The networks a run joins; none named: netctl0, created on first use.
  Result<std::vector<Network>> run_networks(std::vector<std::string> names);
  // Clones the held workload: as our child, or for -d as the child of a forked supervisor, which
  // gets `log_fds` (run -d: the read end of the workload's output pipe and the log file).
  Status start_workload(const Container& c, const launcher::Plan& plan, launcher::Pipes& pipes,
                        std::pair<int, int> log_fds, int& supervisor, int& pid);
  // Kills what a failed run started and removes the container; returns `e`.
  Result<int> abort_run(const Container& c, int supervisor, int pid, Error e);
};

}  // namespace cnm
