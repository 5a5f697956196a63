// Private to cnm/kernel: applies a FirewallChange to tables through a small editing interface, so
// the libiptc firewall and the in-memory one (firewall_memory.cc) share one algorithm and one dump
// format.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "cnm/kernel/firewall.h"
#include "cnm/kernel/firewall_rules.h"
#include "cnm/model/error.h"

namespace cnm::kernel::fw {

// A working copy of one table (libiptc: a handle before commit). Errors read
// "<doing> in <table> table: <cause>".
class TableEditor {
 public:
  virtual ~TableEditor() = default;
  // Every chain: built-in chains in hook order, then user chains by name.
  virtual std::vector<std::string> chains() = 0;
  virtual bool has_chain(const std::string& chain) = 0;
  // The rules of `chain`, decoded.
  virtual Result<std::vector<Rule>> rules(const std::string& chain) = 0;
  // The target of each rule of `chain` (cheaper than rules()).
  virtual Result<std::vector<std::string>> targets(const std::string& chain) = 0;
  // How many rules jump to `chain`.
  virtual Result<unsigned> references(const std::string& chain) = 0;
  virtual Status create_chain(const std::string& chain) = 0;
  // Deletes an empty user chain nothing jumps to.
  virtual Status delete_chain(const std::string& chain) = 0;
  virtual Status flush(const std::string& chain) = 0;
  // Inserts `r` before rule `index` (0-based; the chain's length appends).
  virtual Status insert(const std::string& chain, const Rule& r, size_t index) = 0;
  virtual Status append(const std::string& chain, const Rule& r) = 0;
  virtual Status erase(const std::string& chain, size_t index) = 0;
  // Whether `chain` holds a rule equal to `r`; erases the first such rule (false: none). The
  // defaults decode the chain; libiptc compares entries in place, without decoding.
  virtual Result<bool> holds(const std::string& chain, const Rule& r);
  virtual Result<bool> erase_rule(const std::string& chain, const Rule& r);
  // True once anything was changed.
  virtual bool changed() const = 0;
};

// The working copies of one family's filter, nat and raw, indexed by Table; null for a table a
// change does not concern (see tables_for).
using Tables = std::array<TableEditor*, 3>;
// Both families': indexed by slot(family, table); raw6 is never used.
using AllTables = std::array<TableEditor*, kTableSlots>;

// The tables `c` reads and writes, by slot: per family, nat for ports only, all (IPv6: filter and
// nat) for networks or isolation (their chains, and the top-level chains and hooks such a change
// puts back). IPv6 ones only for the part of `c` that has IPv6 in it (project()).
std::array<bool, kTableSlots> tables_for(const FirewallChange& c);

// Builds validated `c` into `t` as root `root_id`'s change (nothing is committed; the tables of
// tables_for(c) must be there), family by family: makes sure the top-level chains and the
// built-in hooks of those tables exist, removes the chains (and every jump into them) of removed
// networks unless another root's chain jumps to them, takes out removed ports' rules and adds
// the missing ones of added ports in the root's D chain, brings each added network's chains to
// their wanted rules (a chain that already holds exactly them is left alone) with one jump each
// from the root's F or P chain, rewrites the root's isolation, then (after a removal) drops the
// root's chains left empty, with their jumps. A bad root id is Code::kInvalid.
Status build(const FirewallChange& c, const std::string& root_id, const AllTables& t);

// Makes netctl's chains (all but NETCTL-USER, which netctl never writes) in `now` hold what they
// hold in `before`, an earlier copy of the same table: undoes a committed table when a later
// table's commit failed. Jumps from built-in chains are left in place (they are only ever added).
Status restore(TableEditor& now, TableEditor& before);

// Per table "*<label>" (filter, nat, raw, filter6, nat6), then "-N <chain>" for every netctl
// chain, then "-A <chain> <rule>" for every rule of a netctl chain and every rule elsewhere that
// jumps into one. Every IPv4 table must be there; a null IPv6 one (a host without IPv6) is
// skipped.
Result<std::vector<std::string>> dump(const AllTables& t);

}  // namespace cnm::kernel::fw
