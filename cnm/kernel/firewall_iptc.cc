// Firewall over libiptc (legacy iptables tables, IPv4). One apply: take the xtables lock, open a
// handle per table, build the whole change into the handles (firewall_engine.cc), then commit the
// tables that changed. Any failure before the commits frees the handles: nothing changed. If a
// commit fails after another table was committed, that table is put back as it was.
#include <libiptc/libiptc.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "cnm/kernel/firewall.h"
#include "cnm/kernel/firewall_engine.h"
#include "cnm/kernel/firewall_entry.h"
#include "cnm/kernel/firewall_lock.h"
#include "cnm/kernel/firewall_plan.h"

namespace cnm::kernel {
namespace {

using fw::Rule;
using fw::Table;

struct FreeHandle {
  void operator()(xtc_handle* h) const noexcept {
    if (h != nullptr) iptc_free(h);
  }
};
using HandlePtr = std::unique_ptr<xtc_handle, FreeHandle>;

// A chain name as libiptc wants it: it may read all 32 bytes of an xt_chainlabel, so a short
// std::string's buffer is not enough.
class Label {
 public:
  explicit Label(const std::string& name) { std::strncpy(buf_, name.c_str(), sizeof buf_ - 1); }
  const char* get() const { return buf_; }

 private:
  xt_chainlabel buf_{};
};

class IptcTable final : public fw::TableEditor {
 public:
  static Result<std::unique_ptr<IptcTable>> open(Table t) {
    HandlePtr h(iptc_init(fw::table_name(t)));
    if (!h)
      return fail(Code::kFailed, "open {} table: {}", fw::table_name(t), iptc_strerror(errno));
    return std::unique_ptr<IptcTable>(new IptcTable(t, std::move(h)));
  }

  std::vector<std::string> chains() override {
    std::vector<std::string> out;
    for (const char* c = iptc_first_chain(h_.get()); c != nullptr; c = iptc_next_chain(h_.get()))
      out.emplace_back(c);
    return out;
  }
  bool has_chain(const std::string& chain) override {
    return iptc_is_chain(Label(chain).get(), h_.get()) != 0;
  }
  Result<std::vector<Rule>> rules(const std::string& chain) override {
    return each_rule<Rule>(
        chain, [&](const ipt_entry* e, const char* target) { return fw::decode(e, target); });
  }
  Result<std::vector<std::string>> targets(const std::string& chain) override {
    return each_rule<std::string>(chain,
                                  [](const ipt_entry*, const char* target) { return target; });
  }
  Result<unsigned> references(const std::string& chain) override {
    unsigned refs = 0;
    if (iptc_get_references(&refs, Label(chain).get(), h_.get()) == 0)
      return error("count references to chain " + chain);
    return refs;
  }
  Status create_chain(const std::string& chain) override {
    return check(iptc_create_chain(Label(chain).get(), h_.get()), "create chain " + chain);
  }
  Status delete_chain(const std::string& chain) override {
    return check(iptc_delete_chain(Label(chain).get(), h_.get()), "delete chain " + chain);
  }
  Status flush(const std::string& chain) override {
    return check(iptc_flush_entries(Label(chain).get(), h_.get()), "flush chain " + chain);
  }
  Status insert(const std::string& chain, const Rule& r, size_t index) override {
    fw::Entry e = fw::encode(r);
    int ok = iptc_insert_entry(Label(chain).get(), e.get(), static_cast<unsigned>(index), h_.get());
    return check(ok, fmt::format("insert \"{}\" into chain {}", fw::render(r), chain));
  }
  Status append(const std::string& chain, const Rule& r) override {
    fw::Entry e = fw::encode(r);
    int ok = iptc_append_entry(Label(chain).get(), e.get(), h_.get());
    return check(ok, fmt::format("append \"{}\" to chain {}", fw::render(r), chain));
  }
  Status erase(const std::string& chain, size_t index) override {
    int ok = iptc_delete_num_entry(Label(chain).get(), static_cast<unsigned>(index), h_.get());
    return check(ok, fmt::format("delete rule {} of chain {}", index + 1, chain));
  }
  Result<bool> holds(const std::string& chain, const Rule& r) override {
    fw::Entry e = fw::encode(r);
    std::vector<unsigned char> mask(e.get()->next_offset, 0xff);
    if (iptc_check_entry(Label(chain).get(), e.get(), mask.data(), h_.get()) != 0) return true;
    if (errno == ENOENT) return false;  // libiptc: no such rule
    return error("look up \"" + fw::render(r) + "\" in chain " + chain);
  }
  Result<bool> erase_rule(const std::string& chain, const Rule& r) override {
    fw::Entry e = fw::encode(r);
    std::vector<unsigned char> mask(e.get()->next_offset, 0xff);
    if (iptc_delete_entry(Label(chain).get(), e.get(), mask.data(), h_.get()) != 0) {
      changed_ = true;
      return true;
    }
    if (errno == ENOENT) return false;
    return error("delete \"" + fw::render(r) + "\" from chain " + chain);
  }
  bool changed() const override { return changed_; }

  // Sends the table to the kernel (libiptc skips it when nothing changed).
  Status commit() {
    if (iptc_commit(h_.get()) == 0)
      return fail(Code::kFailed, "commit {} table: {}", fw::table_name(table_),
                  iptc_strerror(errno));
    return {};
  }
  Table table() const { return table_; }

 private:
  IptcTable(Table t, HandlePtr h) : table_(t), h_(std::move(h)) {}

  std::unexpected<Error> error(std::string_view doing) const {
    return fail(Code::kFailed, "{} in {} table: {}", doing, fw::table_name(table_),
                iptc_strerror(errno));
  }
  Status check(int ok, std::string_view doing) {
    if (ok == 0) return error(doing);
    changed_ = true;
    return {};
  }
  template <class T, class Fn>
  Result<std::vector<T>> each_rule(const std::string& chain, Fn fn) {
    Label label(chain);
    if (iptc_is_chain(label.get(), h_.get()) == 0) {
      errno = ENOENT;
      return error("list chain " + chain);
    }
    std::vector<T> out;
    for (const ipt_entry* e = iptc_first_rule(label.get(), h_.get()); e != nullptr;
         e = iptc_next_rule(e, h_.get()))
      out.push_back(fn(e, iptc_get_target(e, h_.get())));
    return out;
  }

  Table table_;
  HandlePtr h_;
  bool changed_ = false;
};

using Opened = std::array<std::unique_ptr<IptcTable>, 3>;

// Opens the tables `which` selects (each one read costs a copy of the whole table).
Result<Opened> open_tables(std::array<bool, 3> which = {true, true, true}) {
  Opened out;
  for (Table t : fw::kTables) {
    if (!which[static_cast<size_t>(t)]) continue;
    auto table = IptcTable::open(t);
    if (!table) return std::unexpected(table.error());
    out[static_cast<size_t>(t)] = std::move(*table);
  }
  return out;
}

fw::Tables editors(const Opened& o) { return {o[0].get(), o[1].get(), o[2].get()}; }

// Puts a committed table back to `before` (a handle opened before the commit).
Status put_back(IptcTable& before) {
  auto now = IptcTable::open(before.table());
  if (!now) return std::unexpected(now.error());
  CNM_TRY(fw::restore(**now, before));
  return (*now)->commit();
}

// Commits the changed tables in order. The kernel replaces one table at a time, so before the
// first commit each changed table but the last is read again as it is (we hold the lock: no
// iptables run changed it), to put it back should a later commit fail.
Status commit_all(Opened& tables) {
  std::vector<IptcTable*> changed;
  for (auto& t : tables) {
    if (t && t->changed()) changed.push_back(t.get());
  }
  std::vector<std::unique_ptr<IptcTable>> before;
  for (size_t i = 0; i + 1 < changed.size(); ++i) {
    auto copy = IptcTable::open(changed[i]->table());
    if (!copy) return std::unexpected(copy.error());
    before.push_back(std::move(*copy));
  }
  for (size_t i = 0; i < changed.size(); ++i) {
    Status st = changed[i]->commit();
    if (st) continue;
    for (size_t j = i; j-- > 0;) {
      if (Status undo = put_back(*before[j]); !undo)
        st.error().message += fmt::format("; then putting back: {}", undo.error().message);
    }
    return st;
  }
  return {};
}

class IptcFirewall final : public Firewall {
 public:
  Status apply(const FirewallChange& c) override {
    CNM_TRY(fw::validate(c));
    auto lock = XtablesLock::take();
    if (!lock) return std::unexpected(lock.error());
    auto tables = open_tables(fw::tables_for(c));
    if (!tables) return std::unexpected(tables.error());
    CNM_TRY(fw::build(c, editors(*tables)));
    return commit_all(*tables);
  }

  Result<std::vector<std::string>> dump() override {
    auto tables = open_tables();
    if (!tables) return std::unexpected(tables.error());
    return fw::dump(editors(*tables));
  }
};

}  // namespace

std::unique_ptr<Firewall> make_iptc_firewall() { return std::make_unique<IptcFirewall>(); }

}  // namespace cnm::kernel
