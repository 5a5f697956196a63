#include "cnm/core/txn.h"

#include <algorithm>
#include <ranges>

namespace cnm {
namespace {
Txn::StepHook step_hook = nullptr;
Status store_step(std::string_view what) { return step_hook ? step_hook(what) : Status{}; }
}  // namespace

void Txn::set_step_hook(StepHook hook) { step_hook = hook; }

Txn::Txn(store::Store& store, const store::WriteLock& /*lock*/, std::string command)
    : store_(store),
      intent_({{"cmd", std::move(command)},
               {"objects", nlohmann::json::array()},
               {"drop", nlohmann::json::array()}}) {}

Txn::~Txn() { (void)rollback(); }

Status Txn::write_intent() {
  CNM_TRY(store_step("store: write intent"));
  auto body = intent_.dump();
  if (intent_id_ != 0) return store_.update_intent(intent_id_, body);
  auto id = CNM_VALUE(store_.add_intent(body));
  intent_id_ = id;
  return {};
}

Status Txn::intend(const Intent& object) {
  intent_["objects"].push_back(to_json(object));
  return held_ ? hold_back() : write_intent();
}

Status Txn::intend_drop(const char* table, const std::string& id) {
  intent_["drop"].push_back({{"table", table}, {"id", id}});
  return held_ ? hold_back() : write_intent();
}

Status Txn::hold_back() {
  pending_ = true;  // flush() writes it
  return {};
}

Status Txn::flush() {
  held_ = false;
  if (!pending_) return {};
  pending_ = false;
  return write_intent();
}

void Txn::on_undo(const Intent& object, std::function<Status()> undo) {
  undos_.push_back({to_json(object), std::move(undo)});
}

Status Txn::commit() {
  if (done_) return fail(Code::kFailed, "transaction already finished");
  if (intent_id_ != 0) batch_.done_intents.push_back(intent_id_);
  auto r = store_step("store: commit");
  if (r) r = store_.apply(batch_);
  if (!r) {
    batch_.done_intents.clear();
    (void)rollback();
    return r;
  }
  done_ = true;
  undos_.clear();
  return {};
}

Status Txn::rollback() {
  if (done_) return {};
  done_ = true;
  Status first;
  auto failed = nlohmann::json::array();
  for (auto& undo : std::views::reverse(undos_)) {
    auto r = undo.run();
    if (r) continue;
    if (first) first = context("undo", r.error());
    if (std::find(failed.begin(), failed.end(), undo.object) == failed.end())
      failed.push_back(undo.object);
  }
  undos_.clear();
  if (intent_id_ == 0) return first;
  // An intent that rolls a removal forward stays for the next command's recovery to finish.
  if (!intent_["drop"].empty()) return first;
  if (!failed.empty()) {
    (void)keep_for_recovery(failed);
    return first;
  }
  store::Batch b;
  b.done_intents.push_back(intent_id_);
  if (store_step("store: drop intent"))
    (void)store_.apply(b);  // if this fails, the next command's recovery removes the objects
  return first;
}

// Narrows the intent to the objects whose undo failed: the others are gone, and their names may
// be reused. If this write fails the intent keeps naming them all, as after a crash.
Status Txn::keep_for_recovery(const nlohmann::json& failed) {
  intent_["objects"] = failed;
  return write_intent();
}

}  // namespace cnm
