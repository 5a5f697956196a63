// Runs cnm::cluster::EtcdClient operations named on the command line, for the e2e tests and the
// measurements of cnm/cluster/README.md.
//   etcd_probe [-d DEADLINE_MS] URL[,URL...] OP ARGS...
//   get KEY | prefix P | put KEY VALUE [LEASE] | create KEY VALUE [LEASE] | del KEY |
//   delif KEY VALUE | grant TTL | keepalive ID | revoke ID |
//   creates PREFIX N [PAUSE_MS]  (N create_if_absent calls on PREFIX0..; each must create) |
//   watch PREFIX FROM_REV N MAX_MS  (prints "put KEY=VALUE@REV" / "del KEY@REV" for N events,
//     then "next REV"; exits 5 if fewer came within MAX_MS) |
//   watchlat N  (N puts, each timed from its start until a watch on a second client sees it) |
//   bench N  (a cold first call, then N create_if_absent calls: median and p90 in microseconds)
// Exit status: 0, or the error's code (cnm::Code); `create` and `delif` exit 4 when not done.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cnm/cluster/etcd.h"
#include "tests/tools/probe_util.h"

namespace {

using cnm::cluster::EtcdClient;
using probe::Clock;

int report(const cnm::Error& e) { return probe::report("etcd_probe", e); }
using probe::micros_since;
using probe::split_commas;

// This process's user + system CPU time.
long long cpu_micros() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto us = [](const timeval& t) { return t.tv_sec * 1000000LL + t.tv_usec; };
  return us(u.ru_utime) + us(u.ru_stime);
}

int creates(EtcdClient& c, const std::string& prefix, int n, int pause_ms) {
  long long worst = 0;
  for (int i = 0; i < n; ++i) {
    auto t = Clock::now();
    std::string key = prefix + std::to_string(i);
    auto r = c.create_if_absent(key, "v" + std::to_string(i), 0);
    worst = std::max(worst, micros_since(t));
    if (!r) return report(r.error());
    if (!r->done) return std::fprintf(stderr, "etcd_probe: %s existed\n", key.c_str()), 4;
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
  std::printf("created %d, slowest %lld us, connections %ld\n", n, worst, c.connects());
  return 0;
}

int bench(EtcdClient& c, int n) {
  std::string run = std::to_string(Clock::now().time_since_epoch().count());
  auto t = Clock::now();
  auto first = c.create_if_absent("/bench/" + run + "/cold", "v", 0);
  long long cold = micros_since(t);
  if (!first) return report(first.error());
  std::vector<long long> us;
  long long cpu0 = cpu_micros();
  for (int i = 0; i < n; ++i) {
    t = Clock::now();
    auto r = c.create_if_absent("/bench/" + run + "/" + std::to_string(i), "v", 0);
    us.push_back(micros_since(t));
    if (!r || !r->done) return r ? 4 : report(r.error());
  }
  long long cpu = (cpu_micros() - cpu0) / std::max(n, 1);
  if (us.empty()) us.push_back(0);
  std::sort(us.begin(), us.end());
  std::printf(
      "cold %lld us, median %lld us, p90 %lld us, client CPU %lld us/call over %d calls, "
      "connections %ld\n",
      cold, us[us.size() / 2], us[us.size() * 9 / 10], cpu, n, c.connects());
  return 0;
}

// Prints a write's outcome; one not done is also one line on stderr and exit status 4.
int done(const cnm::cluster::Written& w, const std::string& key) {
  std::printf("%s revision %lld\n", w.done ? "done" : "not done", (long long)w.revision);
  if (w.done) return 0;
  std::fprintf(stderr, "etcd_probe: %s: not done\n", key.c_str());
  return 4;
}

int watch(EtcdClient& c, const std::string& prefix, long long from, int n, long long max_ms) {
  int seen = 0;
  auto r = c.watch_prefix(
      prefix, from,
      [&](const cnm::cluster::WatchBatch& b) {
        for (const auto& e : b.events) {
          if (e.deleted) {
            std::printf("del %s@%lld\n", e.kv.key.c_str(), (long long)e.kv.mod_revision);
          } else {
            std::printf("put %s=%s@%lld\n", e.kv.key.c_str(), e.kv.value.c_str(),
                        (long long)e.kv.mod_revision);
          }
          ++seen;
        }
        std::fflush(stdout);
        return seen < n;
      },
      std::chrono::milliseconds(max_ms));
  if (!r) return report(r.error());
  std::printf("next %lld\n", (long long)*r);
  if (seen >= n) return 0;
  std::fprintf(stderr, "etcd_probe: %d of %d events within %lld ms\n", seen, n, max_ms);
  return 5;
}

// The time from a put's start until a watch (another client, another thread) delivers it.
int watch_latency(const cnm::cluster::EtcdOptions& o, int n) {
  std::string prefix = "/watchlat/" + std::to_string(Clock::now().time_since_epoch().count()) + "/";
  std::vector<Clock::time_point> started(n), seen(n);
  std::atomic<int> count{0};
  std::atomic<bool> watching{false};
  std::thread watcher([&] {
    EtcdClient w(o);
    auto r = w.watch_prefix(
        prefix, 0,
        [&](const cnm::cluster::WatchBatch& b) {
          for (size_t i = 0; i < b.events.size(); ++i) seen[count++] = Clock::now();
          return count < n;
        },
        std::chrono::seconds(30));
    if (!r) report(r.error());
  });
  EtcdClient c(o);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the watch is made
  for (int i = 0; i < n; ++i) {
    int before = count;
    started[i] = Clock::now();
    if (auto r = c.put(prefix + std::to_string(i), "v"); !r) return report(r.error());
    while (count == before) {
      if (Clock::now() - started[i] > std::chrono::seconds(5)) {
        std::fprintf(stderr, "etcd_probe: put %d not watched within 5 s\n", i);
        std::_Exit(1);  // the watcher thread still waits; nothing to clean up
      }
      std::this_thread::yield();
    }
  }
  watcher.join();
  std::vector<long long> us;
  for (int i = 0; i < n; ++i)
    us.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(seen[i] - started[i]).count());
  std::sort(us.begin(), us.end());
  std::printf("put until watched: median %lld us, p90 %lld us over %d puts\n", us[n / 2],
              us[n * 9 / 10], n);
  return 0;
}

void print_range(const cnm::cluster::Range& r, bool values_only) {
  for (const auto& kv : r.kvs) {
    if (values_only) {
      std::printf("%s\n", kv.value.c_str());
    } else {
      std::printf("%s=%s\n", kv.key.c_str(), kv.value.c_str());
    }
  }
}

int run(EtcdClient& c, const std::vector<std::string>& a) {
  const std::string& op = a[0];
  auto arg_int = [&](size_t i) { return a.size() > i ? std::stoll(a[i]) : 0LL; };
  if (op == "get" && a.size() == 2) {
    auto r = c.get(a[1]);
    if (!r) return report(r.error());
    print_range(*r, true);
    if (r->kvs.empty())
      return std::fprintf(stderr, "etcd_probe: %s: no such key\n", a[1].c_str()), 3;
    return 0;
  }
  if (op == "prefix" && a.size() == 2) {
    auto r = c.get_prefix(a[1]);
    if (!r) return report(r.error());
    print_range(*r, false);
    return 0;
  }
  if ((op == "put" || op == "create") && a.size() >= 3) {
    auto r =
        op == "put" ? c.put(a[1], a[2], arg_int(3)) : c.create_if_absent(a[1], a[2], arg_int(3));
    if (!r) return report(r.error());
    return done(*r, a[1]);
  }
  if ((op == "del" && a.size() == 2) || (op == "delif" && a.size() == 3)) {
    auto r = op == "del" ? c.delete_key(a[1]) : c.delete_if_value(a[1], a[2]);
    if (!r) return report(r.error());
    return done(*r, a[1]);
  }
  if ((op == "grant" || op == "keepalive") && a.size() == 2) {
    auto r = op == "grant" ? c.lease_grant(arg_int(1)) : c.lease_keepalive(arg_int(1));
    if (!r) return report(r.error());
    std::printf("%lld %lld\n", (long long)r->id, (long long)r->ttl);
    return 0;
  }
  if (op == "revoke" && a.size() == 2) {
    auto r = c.lease_revoke(arg_int(1));
    return r ? 0 : report(r.error());
  }
  if (op == "creates" && a.size() >= 3) return creates(c, a[1], int(arg_int(2)), int(arg_int(3)));
  if (op == "watch" && a.size() == 5)
    return watch(c, a[1], arg_int(2), int(arg_int(3)), arg_int(4));
  if (op == "bench" && a.size() == 2) return bench(c, int(arg_int(1)));
  std::fprintf(stderr, "etcd_probe: unknown operation or arguments: %s\n", op.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  cnm::cluster::EtcdOptions o;
  if (args.size() >= 2 && args[0] == "-d") {
    o.deadline = std::chrono::milliseconds(std::stoll(args[1]));
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.size() < 2) {
    std::fprintf(stderr, "usage: etcd_probe [-d DEADLINE_MS] URL[,URL...] OP ARGS...\n");
    return 2;
  }
  o.endpoints = split_commas(args[0]);
  if (args.size() == 3 && args[1] == "watchlat")
    return watch_latency(o, std::max(1, std::stoi(args[2])));
  EtcdClient client(o);
  return run(client, std::vector<std::string>(args.begin() + 1, args.end()));
}
