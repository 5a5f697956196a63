// The local state store (docs/architecture.md section 5): one SQLite database under the state root,
// object bodies as JSON text, IPAM allocations, and the intent journal. Writers serialise on an
// flock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cnm/model/error.h"

struct sqlite3;

namespace cnm::store {

// The object tables; each has columns id, name (unique when set, except for endpoints), parent,
// ref (a secondary key: an endpoint's namespace) and body.
inline constexpr const char* kNetworks = "networks";
inline constexpr const char* kEndpoints = "endpoints";
inline constexpr const char* kSandboxes = "sandboxes";
inline constexpr const char* kContainers = "containers";

struct Record {
  std::string id;
  std::string name;      // "" when the object has no name
  std::string parent;    // e.g. an endpoint's network id
  std::string body;      // JSON
  std::string ref = {};  // secondary key, e.g. an endpoint's namespace "dev:ino"
};

// Selects records by the fields that are set (all must match); an empty filter selects all.
struct Filter {
  std::string name = {}, parent = {}, ref = {};
  std::string ref_not = {};  // records whose ref is anything but this
};

// Writes made visible together by Store::apply, in one SQLite transaction.
struct Batch {
  struct Put {
    std::string table;
    Record record;
  };
  struct Drop {  // the row, every IPAM address it owns, and for a network its pools
    std::string table;
    std::string id;
  };
  struct Addr {
    std::string pool;  // "<network id>/<subnet>"
    std::string addr;
    std::string owner;  // object id holding it
  };
  std::vector<Put> puts;
  std::vector<Drop> drops;
  std::vector<Addr> add_addresses;
  std::vector<std::pair<std::string, std::string>> release_addresses;  // (pool, addr)
  // (pool, address): where the next automatic allocation in the pool starts looking (see
  // Store::ipam_hint). Applied last: the drops and releases before forget a pool's hint.
  std::vector<std::pair<std::string, std::string>> set_hints;
  std::vector<int64_t> done_intents;
  bool empty() const;
};

class Store;

// Holds the exclusive writer lock while alive; released by the kernel if the process dies. Only
// Store::lock() makes one, and it cannot be copied: a function that writes under the lock takes
// `const WriteLock&`, so the compiler checks that its caller holds it.
class WriteLock {
 public:
  WriteLock(WriteLock&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), held_(std::exchange(o.held_, nullptr)) {}
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;
  WriteLock& operator=(WriteLock&&) = delete;
  ~WriteLock();

 private:
  friend class Store;
  explicit WriteLock(int fd) : fd_(fd) {}

  int fd_;
  bool* held_ = nullptr;  // the owning Store's flag, cleared on release
};

class StmtCache;

class Store {
 public:
  // Opens <root>/netctl.db, creating the root (0700) and the schema when missing.
  static Result<std::unique_ptr<Store>> open(const std::string& root);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& root() const { return root_; }
  // This root's id: 8 lowercase hex digits, random, made with the schema and never changed. It
  // marks what this root makes in shared kernel space (link groups, firewall chains, cgroup
  // names), so that two roots on one host each touch only their own.
  Result<std::string> root_id();
  // The firewall backend this root's rules are in ("iptables", "nftables"; see
  // cnm/core/firewall_backend.h), beside the root id in the meta table; "" when none is recorded:
  // a new root, or one made before backends were recorded (its rules are in iptables).
  Result<std::string> firewall_backend();
  Status set_firewall_backend(const WriteLock& lock, const std::string& name);

  // Blocks until this process is the only writer (flock on <root>/lock). While a WriteLock of
  // this Store is alive, a second call fails (Code::kFailed) instead of waiting on itself forever.
  Result<WriteLock> lock();

  // SQLite's `PRAGMA data_version` of this connection: changes whenever another connection
  // commits, so a long-lived reader (the DNS server) knows when to read the tables again.
  Result<int64_t> data_version();

  // The record whose id or name is `key` (an id prefix of 12+ hex characters matches too).
  Result<std::optional<Record>> get(const char* table, const std::string& key);
  // The records of a table that match `f`, ordered by name then id.
  Result<std::vector<Record>> list(const char* table, const Filter& f = {});
  // Allocated addresses of one pool.
  Result<std::vector<std::string>> addresses(const std::string& pool);
  // The owner of `addr` in `pool`, or "" when it is free.
  Result<std::string> address_owner(const std::string& pool, const std::string& addr);
  // Number of allocated addresses in all pools (for tests and doctor).
  Result<int64_t> address_count();
  // Every allocated address, IPAM row of every pool (for doctor: rows whose owner is gone).
  Result<std::vector<Batch::Addr>> all_addresses();
  // A pool's allocation hint: every address of the pool below it is allocated or reserved, so the
  // lowest free one is at or above it. "" when unknown: Batch::set_hints records one; a drop or a
  // release in the pool forgets it unless the same batch sets it again.
  Result<std::string> ipam_hint(const std::string& pool);

  // The intent journal: a new entry is durable when this returns.
  Result<int64_t> add_intent(const std::string& body);
  Status update_intent(int64_t id, const std::string& body);
  Result<std::vector<std::pair<int64_t, std::string>>> intents();

  // Applies every write of `b` in one transaction.
  Status apply(const Batch& b);

  // WAL frames (pages) after which finish() starts the WAL over: up to ~1 MiB that each new process
  // reads, against a checkpoint (3 fsyncs of what was written since the last one) every ~20
  // commands. With 64 (every ~6) one attach in 5 waited ~4 ms for those fsyncs here; with 256 the
  // median attach at N=100 is ~3% lower and p90 ~25% (tests/bench/README.md).
  static constexpr int kCheckpointFrames = 256;
  // Within one process that writes a lot (gc, rm of many networks): copy back every this many
  // frames, as SQLite's own auto-checkpoint would, so its WAL stays bounded until finish().
  static constexpr int kCopyBackFrames = 1000;
  // The most of its WAL file a store keeps once it starts the WAL over: above kCheckpointFrames
  // pages, so a routine start-over never truncates it (journal_size_limit).
  static constexpr int kWalKeepBytes = 2 << 20;

  // End of the process's work: copies the WAL back and starts it over if this process's writes left
  // it long (see kCheckpointFrames). The destructor does it too; a process that exits without
  // destroying the store (cnm::end_process) calls this first.
  void finish();

 private:
  Store(std::string root, sqlite3* db);
  Status exec(const char* sql);
  // flock(LOCK_EX) on <path>, created when missing; the kernel drops it when the process dies.
  static Result<WriteLock> lock_file(const std::string& path);

  std::string root_;
  std::string root_id_;  // cached by root_id()
  sqlite3* db_;
  bool locked_ = false;  // a WriteLock of this Store is alive
  int wal_frames_ = 0;   // frames in the WAL after this process's last commit (0: none committed)
  std::unique_ptr<StmtCache> stmts_;  // cnm/store/sqlite_util.h
};

}  // namespace cnm::store
