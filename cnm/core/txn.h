// One command = one transaction (docs/architecture.md section 4): a durable intent naming the
// kernel objects the command may create or remove, undo steps for each kernel change, and the store
// writes that become visible at commit together with the intent's removal.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/core/intent.h"
#include "cnm/model/error.h"
#include "cnm/store/store.h"

namespace cnm {

class Txn {
 public:
  // `lock` is the store's write lock, held for the life of the Txn.
  Txn(store::Store& store, const store::WriteLock& lock, std::string command);
  ~Txn();  // rolls back unless committed
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  // Makes durable, before the kernel is touched, that `object` may exist after a crash and must
  // then be removed (cnm/core/intent.h has the kinds; Recovery::recover removes them).
  Status intend(const Intent& object);
  // Makes durable that a crashed command must finish dropping this record (roll-forward of rm).
  Status intend_drop(const char* table, const std::string& id);
  // Between hold() and flush(), intend and intend_drop only collect; flush() makes them durable
  // in one store write. Nothing may touch the kernel before the flush.
  void hold() { held_ = true; }
  Status flush();
  // Registers how to undo a kernel change that succeeded, and the intent object (already declared
  // with intend) naming what it made. Undos run in reverse on rollback; when some fail, the intent
  // stays, naming exactly their objects, for the next command's recovery to retry.
  void on_undo(const Intent& object, std::function<Status()> undo);

  store::Batch& batch() { return batch_; }

  // Fault injection (cnm/kernel/fault.h): when set, called before each store write of every Txn
  // (intent writes, commit, a rollback's intent drop); an error fails that write. Unset: no cost
  // beyond a null check.
  using StepHook = Status (*)(std::string_view what);
  static void set_step_hook(StepHook hook);

  // Applies the batch and drops the intent in one store transaction.
  Status commit();
  // Runs the undos in reverse, then drops the intent unless it rolls a removal forward or an undo
  // failed (then the first undo error is returned). Idempotent.
  Status rollback();

 private:
  Status hold_back();
  Status write_intent();
  Status keep_for_recovery(const nlohmann::json& failed);

  struct Undo {
    nlohmann::json object;  // to_json of the Intent it reverses
    std::function<Status()> run;
  };

  store::Store& store_;
  nlohmann::json intent_;
  int64_t intent_id_ = 0;
  std::vector<Undo> undos_;
  store::Batch batch_;
  bool done_ = false;
  bool held_ = false, pending_ = false;
};

}  // namespace cnm
