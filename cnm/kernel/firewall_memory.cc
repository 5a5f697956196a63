// The firewall engine over in-memory tables (no kernel): `netctl doctor` renders with it what a
// set of changes should leave, and tests/fakes/fake_firewall.cc records and fails steps around it.
// Each table refuses what libiptc refuses, with its messages; an apply is all or nothing, like
// the libiptc commits.
#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cnm/kernel/firewall.h"
#include "cnm/kernel/firewall_engine.h"
#include "cnm/kernel/firewall_plan.h"

namespace cnm::kernel {
namespace fw {

// One table in memory, refusing what libiptc refuses, with its messages.
class MemTable final : public TableEditor {
 public:
  MemTable(Family f, Table t) : label_(table_label(f, t)) {
    switch (t) {
      case Table::kFilter:
        builtins_ = {"INPUT", "FORWARD", "OUTPUT"};
        break;
      case Table::kNat:
        builtins_ = {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"};
        break;
      case Table::kRaw:
        builtins_ = {"PREROUTING", "OUTPUT"};
        break;
    }
    for (const std::string& b : builtins_) chains_[b];
  }

  std::vector<std::string> chains() override {
    std::vector<std::string> out = builtins_;
    for (const auto& [name, rules] : chains_) {
      if (!builtin(name)) out.push_back(name);
    }
    return out;
  }
  bool has_chain(const std::string& chain) override { return chains_.contains(chain); }
  Result<std::vector<Rule>> rules(const std::string& chain) override {
    if (!has_chain(chain)) return missing("list chain " + chain);
    return chains_.at(chain);
  }
  Result<std::vector<std::string>> targets(const std::string& chain) override {
    if (!has_chain(chain)) return missing("list chain " + chain);
    std::vector<std::string> out;
    for (const Rule& r : chains_.at(chain)) out.push_back(r.target);
    return out;
  }
  Result<unsigned> references(const std::string& chain) override {
    if (!has_chain(chain)) return missing("count references to chain " + chain);
    unsigned n = 0;
    for (const auto& [name, rules] : chains_)
      n += static_cast<unsigned>(std::count_if(rules.begin(), rules.end(),
                                               [&](const Rule& r) { return r.target == chain; }));
    return n;
  }
  Status create_chain(const std::string& chain) override {
    if (has_chain(chain)) return refuse("create chain " + chain, "Chain already exists");
    chains_[chain];
    return done();
  }
  Status delete_chain(const std::string& chain) override {
    std::string doing = "delete chain " + chain;
    if (!has_chain(chain)) return missing(doing);
    if (builtin(chain)) return refuse(doing, "Can't delete built-in chain");
    if (!chains_.at(chain).empty()) return refuse(doing, "Directory not empty");
    if (*references(chain) > 0) return refuse(doing, "Can't delete chain with references left");
    chains_.erase(chain);
    return done();
  }
  Status flush(const std::string& chain) override {
    if (!has_chain(chain)) return missing("flush chain " + chain);
    chains_.at(chain).clear();
    return done();
  }
  Status insert(const std::string& chain, const Rule& r, size_t index) override {
    std::string doing = fmt::format("insert \"{}\" into chain {}", render(r), chain);
    if (!has_chain(chain)) return missing(doing);
    if (r.target.starts_with(kPrefix) && !has_chain(r.target)) return missing(doing);
    auto& rules = chains_.at(chain);
    if (index > rules.size()) return refuse(doing, "Index of insertion too big");
    rules.insert(rules.begin() + static_cast<std::ptrdiff_t>(index), r);
    return done();
  }
  Status append(const std::string& chain, const Rule& r) override {
    size_t end = has_chain(chain) ? chains_.at(chain).size() : 0;
    return insert(chain, r, end);
  }
  Status erase(const std::string& chain, size_t index) override {
    std::string doing = fmt::format("delete rule {} of chain {}", index + 1, chain);
    if (!has_chain(chain)) return missing(doing);
    auto& rules = chains_.at(chain);
    if (index >= rules.size()) return refuse(doing, "Index of deletion too big");
    rules.erase(rules.begin() + static_cast<std::ptrdiff_t>(index));
    return done();
  }
  bool changed() const override { return changed_; }

 private:
  bool builtin(const std::string& c) const {
    return std::find(builtins_.begin(), builtins_.end(), c) != builtins_.end();
  }
  std::unexpected<Error> refuse(const std::string& doing, const char* cause) const {
    return fail(Code::kFailed, "{} in {} table: {}", doing, label_, cause);
  }
  std::unexpected<Error> missing(const std::string& doing) const {
    return refuse(doing, "No chain/target/match by that name");
  }
  Status done() {
    changed_ = true;
    return {};
  }

  std::string label_;
  std::vector<std::string> builtins_;
  std::map<std::string, std::vector<Rule>> chains_;
  bool changed_ = false;
};

// Both families' tables, by slot().
class MemTables {
 public:
  MemTables() {
    for (Family f : kFamilies)
      for (Table t : kTables) tables_.emplace_back(f, t);
  }
  AllTables editors() {
    AllTables out{};
    for (size_t i = 0; i < tables_.size(); ++i) out[i] = &tables_[i];
    return out;
  }

 private:
  std::vector<MemTable> tables_;
};

}  // namespace fw

namespace {

struct Shared {
  std::unique_ptr<fw::MemTables> tables = std::make_unique<fw::MemTables>();
};

class MemoryFirewall final : public Firewall {
 public:
  explicit MemoryFirewall(std::string root_id, std::shared_ptr<Shared> shared = nullptr)
      : root_id_(std::move(root_id)),
        shared_(shared ? std::move(shared) : std::make_shared<Shared>()) {}
  const std::string& root_id() const override { return root_id_; }
  // Only the tables libiptc would read are built into; a failure leaves the tables as they were.
  Status apply(const FirewallChange& c) override {
    CNM_TRY(fw::check_root_id(root_id_));
    CNM_TRY(fw::validate(c));
    auto work = std::make_unique<fw::MemTables>(*shared_->tables);
    fw::AllTables editors = work->editors();
    std::array<bool, fw::kTableSlots> used = fw::tables_for(c);
    for (size_t i = 0; i < editors.size(); ++i)
      if (!used[i]) editors[i] = nullptr;
    CNM_TRY(fw::build(c, root_id_, editors));
    shared_->tables = std::move(work);
    return {};
  }
  Result<std::vector<std::string>> dump() override {
    CNM_TRY(fw::check_root_id(root_id_));
    return fw::dump(shared_->tables->editors());
  }
  // The tables, shared by the firewalls of memory_firewall_sharing().
  std::shared_ptr<Shared> shared() const { return shared_; }

 private:
  std::string root_id_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

std::unique_ptr<Firewall> make_memory_firewall(const std::string& root_id) {
  return std::make_unique<MemoryFirewall>(root_id);
}

std::unique_ptr<Firewall> memory_firewall_sharing(Firewall& mem, const std::string& root_id) {
  auto* m = dynamic_cast<MemoryFirewall*>(&mem);
  if (m == nullptr) return nullptr;
  return std::make_unique<MemoryFirewall>(root_id, m->shared());
}

}  // namespace cnm::kernel
