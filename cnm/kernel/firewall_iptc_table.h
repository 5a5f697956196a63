// Private to cnm/kernel: one libiptc table handle as a TableEditor, for either family. libip4tc
// (iptc_*) and libip6tc (ip6tc_*) have the same calls under different names and entry types; an
// Api struct names them (firewall_iptc.cc, firewall_iptc6.cc), so the code is written once.
#pragma once

#include <libiptc/xtcshared.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>

#include "cnm/kernel/firewall_engine.h"
#include "cnm/kernel/firewall_entry.h"

namespace cnm::kernel {

// A table read through libiptc; commit() sends it to the kernel (libiptc skips it when nothing
// changed).
class IptcTable : public fw::TableEditor {
 public:
  virtual Status commit() = 0;
  virtual fw::Family family() const = 0;
  virtual fw::Table table() const = 0;
};

// Opens table `t` of family `f` (firewall_iptc.cc); open_table6 is the IPv6 half
// (firewall_iptc6.cc).
Result<std::unique_ptr<IptcTable>> open_table(fw::Family f, fw::Table t);
Result<std::unique_ptr<IptcTable>> open_table6(fw::Table t);

// A chain name as libiptc wants it: it may read all 32 bytes of an xt_chainlabel, so a short
// std::string's buffer is not enough.
class Label {
 public:
  explicit Label(const std::string& name) { std::strncpy(buf_, name.c_str(), sizeof buf_ - 1); }
  const char* get() const { return buf_; }

 private:
  xt_chainlabel buf_{};
};

template <class Api>
class IptcTableOf final : public IptcTable {
 public:
  using EntryT = typename Api::EntryT;

  // An IPv6 table the kernel does not have fails with Code::kNotFound: no IPv6 at all
  // (EAFNOSUPPORT, ipv6.disable=1), no ip6_tables (ENOPROTOOPT) or no such table (ENOENT).
  static Result<std::unique_ptr<IptcTable>> open(fw::Table t) {
    xtc_handle* h = Api::init(fw::table_name(t));
    if (h == nullptr) {
      int err = errno;
      bool absent = err == EAFNOSUPPORT || err == ENOPROTOOPT || err == ENOENT;
      Code code = Api::kFamily == fw::Family::kV6 && absent ? Code::kNotFound : Code::kFailed;
      return fail(code, "open {} table: {}", label(t), Api::strerror(err));
    }
    return std::unique_ptr<IptcTable>(new IptcTableOf(t, h));
  }
  ~IptcTableOf() override { Api::free(h_); }
  IptcTableOf(const IptcTableOf&) = delete;
  IptcTableOf& operator=(const IptcTableOf&) = delete;

  std::vector<std::string> chains() override {
    std::vector<std::string> out;
    for (const char* c = Api::first_chain(h_); c != nullptr; c = Api::next_chain(h_))
      out.emplace_back(c);
    return out;
  }
  bool has_chain(const std::string& chain) override {
    return Api::is_chain(Label(chain).get(), h_) != 0;
  }
  Result<std::vector<fw::Rule>> rules(const std::string& chain) override {
    return each_rule<fw::Rule>(
        chain, [](const EntryT* e, const char* target) { return Api::decode(e, target); });
  }
  Result<std::vector<std::string>> targets(const std::string& chain) override {
    return each_rule<std::string>(chain, [](const EntryT*, const char* target) { return target; });
  }
  Result<unsigned> references(const std::string& chain) override {
    unsigned refs = 0;
    if (Api::get_references(&refs, Label(chain).get(), h_) == 0)
      return error("count references to chain " + chain);
    return refs;
  }
  Status create_chain(const std::string& chain) override {
    return check(Api::create_chain(Label(chain).get(), h_), "create chain " + chain);
  }
  Status delete_chain(const std::string& chain) override {
    return check(Api::delete_chain(Label(chain).get(), h_), "delete chain " + chain);
  }
  Status flush(const std::string& chain) override {
    return check(Api::flush_entries(Label(chain).get(), h_), "flush chain " + chain);
  }
  Status insert(const std::string& chain, const fw::Rule& r, size_t index) override {
    fw::Entry e = Api::encode(r);
    int ok = Api::insert_entry(Label(chain).get(), Api::entry(e), static_cast<unsigned>(index), h_);
    return check(ok, fmt::format("insert \"{}\" into chain {}", fw::render(r), chain));
  }
  Status append(const std::string& chain, const fw::Rule& r) override {
    fw::Entry e = Api::encode(r);
    int ok = Api::append_entry(Label(chain).get(), Api::entry(e), h_);
    return check(ok, fmt::format("append \"{}\" to chain {}", fw::render(r), chain));
  }
  Status erase(const std::string& chain, size_t index) override {
    int ok = Api::delete_num_entry(Label(chain).get(), static_cast<unsigned>(index), h_);
    return check(ok, fmt::format("delete rule {} of chain {}", index + 1, chain));
  }
  // In place. Rules with an extension target (DNAT, MASQUERADE: a published port's, so chains of
  // hundreds) are compared entry by entry here, a few compares each; libiptc's own lookup (every
  // byte under a mask, after copying the entry) costs several times that per rule. Jumps and
  // verdicts, which libiptc keeps in a form of its own, go through libiptc.
  Result<bool> holds(const std::string& chain, const fw::Rule& r) override {
    fw::Entry e = Api::encode(r);
    const EntryT* entry = Api::entry(e);
    if (extension_target(r)) return find(chain, entry) >= 0;
    std::vector<unsigned char> mask(entry->next_offset, 0xff);
    if (Api::check_entry(Label(chain).get(), entry, mask.data(), h_) != 0) return true;
    if (errno == ENOENT) return false;  // libiptc: no such rule
    return error(fmt::format("look up \"{}\" in chain {}", fw::render(r), chain));
  }
  Result<bool> erase_rule(const std::string& chain, const fw::Rule& r) override {
    fw::Entry e = Api::encode(r);
    const EntryT* entry = Api::entry(e);
    if (extension_target(r)) {
      int at = find(chain, entry);
      if (at < 0) return false;
      CNM_TRY(erase(chain, static_cast<size_t>(at)));
      return true;
    }
    std::vector<unsigned char> mask(entry->next_offset, 0xff);
    if (Api::delete_entry(Label(chain).get(), entry, mask.data(), h_) != 0) {
      changed_ = true;
      return true;
    }
    if (errno == ENOENT) return false;
    return error(fmt::format("delete \"{}\" from chain {}", fw::render(r), chain));
  }
  bool changed() const override { return changed_; }

  Status commit() override {
    if (Api::commit(h_) == 0)
      return fail(Code::kFailed, "commit {} table: {}", label(table_), Api::strerror(errno));
    return {};
  }
  fw::Family family() const override { return Api::kFamily; }
  fw::Table table() const override { return table_; }

 private:
  IptcTableOf(fw::Table t, xtc_handle* h) : table_(t), h_(h) {}

  static std::string label(fw::Table t) { return fw::table_label(Api::kFamily, t); }
  std::unexpected<Error> error(std::string_view doing) const {
    return fail(Code::kFailed, "{} in {} table: {}", doing, label(table_), Api::strerror(errno));
  }
  Status check(int ok, std::string_view doing) {
    if (ok == 0) return error(doing);
    changed_ = true;
    return {};
  }
  static bool extension_target(const fw::Rule& r) {
    return r.target == "DNAT" || r.target == "MASQUERADE";
  }
  // The position of the first rule of `chain` equal to `want`, -1 if none (or no such chain).
  int find(const std::string& chain, const EntryT* want) {
    Label label(chain);
    if (Api::is_chain(label.get(), h_) == 0) return -1;
    int i = 0;
    for (const EntryT* e = Api::first_rule(label.get(), h_); e != nullptr;
         e = Api::next_rule(e, h_), ++i)
      if (same(e, want)) return i;
    return -1;
  }
  // Equal as the kernel sees them: addresses, interfaces, protocol and flags, then each match and
  // the target (size, name up to its NUL, revision, data). Counters, the kernel's bookkeeping and
  // the padding after the flags do not count.
  static bool same(const EntryT* a, const EntryT* b) {
    if (a->target_offset != b->target_offset || a->next_offset != b->next_offset) return false;
    if (std::memcmp(a, b, Api::kIpBytes) != 0) return false;
    const auto* pa = reinterpret_cast<const unsigned char*>(a);
    const auto* pb = reinterpret_cast<const unsigned char*>(b);
    for (size_t at = sizeof(EntryT); at < a->next_offset;) {
      // A match and the target share this header: size, name, revision, then the data.
      const auto* ma = reinterpret_cast<const xt_entry_match*>(pa + at);
      const auto* mb = reinterpret_cast<const xt_entry_match*>(pb + at);
      const size_t size = ma->u.match_size;
      if (size != mb->u.match_size || size < sizeof(xt_entry_match) || at + size > a->next_offset)
        return false;
      if (std::strncmp(ma->u.user.name, mb->u.user.name, sizeof ma->u.user.name) != 0 ||
          ma->u.user.revision != mb->u.user.revision ||
          std::memcmp(ma->data, mb->data, size - sizeof(xt_entry_match)) != 0)
        return false;
      at += size;
    }
    return true;
  }
  template <class T, class Fn>
  Result<std::vector<T>> each_rule(const std::string& chain, Fn fn) {
    Label label(chain);
    if (Api::is_chain(label.get(), h_) == 0) {
      errno = ENOENT;
      return error("list chain " + chain);
    }
    std::vector<T> out;
    for (const EntryT* e = Api::first_rule(label.get(), h_); e != nullptr;
         e = Api::next_rule(e, h_))
      out.push_back(fn(e, Api::get_target(e, h_)));
    return out;
  }

  fw::Table table_;
  xtc_handle* h_;
  bool changed_ = false;
};

}  // namespace cnm::kernel
