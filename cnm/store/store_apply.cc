// Store::apply: every write of one command in one SQLite transaction.
#include "cnm/store/sqlite_util.h"
#include "cnm/store/store.h"

namespace cnm::store {
namespace {

Status apply_writes(StmtCache& stmts, const Batch& b) {
  sqlite3* db = stmts.db();
  // A release the batch does not pair with a new hint leaves the pool's hint wrong: forget it.
  for (const auto& d : b.drops) {
    CNM_TRY(Stmt(stmts,
                 "DELETE FROM ipam_hints WHERE pool IN (SELECT pool FROM ipam_addresses "
                 "WHERE owner=?1) OR pool LIKE ?1||'/%'")
                .bind(1, d.id)
                .run("forget allocation hints"));
    auto sql = fmt::format("DELETE FROM {} WHERE id=?1", d.table);
    CNM_TRY(Stmt(stmts, sql).bind(1, d.id).run("delete record"));
    // Addresses it holds, and for a network every address of its pools ("<id>/<subnet>").
    CNM_TRY(Stmt(stmts, "DELETE FROM ipam_addresses WHERE owner=?1 OR pool LIKE ?1||'/%'")
                .bind(1, d.id)
                .run("release addresses"));
  }
  for (const auto& [pool, addr] : b.release_addresses) {
    CNM_TRY(Stmt(stmts, "DELETE FROM ipam_addresses WHERE pool=?1 AND addr=?2")
                .bind(1, pool)
                .bind(2, addr)
                .run("release address"));
    CNM_TRY(Stmt(stmts, "DELETE FROM ipam_hints WHERE pool=?1")
                .bind(1, pool)
                .run("forget allocation hint"));
  }
  for (const auto& p : b.puts) {
    auto sql = fmt::format(
        "INSERT INTO {} (id, name, parent, body, ref) VALUES(?1, NULLIF(?2, ''), ?3, ?4, ?5) "
        "ON CONFLICT(id) DO UPDATE SET name=excluded.name, parent=excluded.parent, "
        "body=excluded.body, ref=excluded.ref",
        p.table);
    Stmt st(stmts, sql);
    st.bind(1, p.record.id).bind(2, p.record.name).bind(3, p.record.parent).bind(4, p.record.body);
    st.bind(5, p.record.ref);
    if (st.step() != SQLITE_DONE) {
      if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE)
        return fail(Code::kConflict, "name {} is already in use", p.record.name);
      return fail(Code::kFailed, "write {} {}: {}", p.table, p.record.id, st.error());
    }
  }
  for (const auto& a : b.add_addresses) {
    Stmt st(stmts, "INSERT INTO ipam_addresses(pool, addr, owner) VALUES(?1, ?2, ?3)");
    st.bind(1, a.pool).bind(2, a.addr).bind(3, a.owner);
    if (st.step() != SQLITE_DONE) {
      if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY)
        return fail(Code::kConflict, "address {} is already allocated", a.addr);
      return fail(Code::kFailed, "allocate {}: {}", a.addr, st.error());
    }
  }
  for (const auto& [pool, next] : b.set_hints)
    CNM_TRY(Stmt(stmts,
                 "INSERT INTO ipam_hints(pool, next) VALUES(?1, ?2) "
                 "ON CONFLICT(pool) DO UPDATE SET next=excluded.next")
                .bind(1, pool)
                .bind(2, next)
                .run("record allocation hint"));
  for (int64_t id : b.done_intents)
    CNM_TRY(Stmt(stmts, "DELETE FROM intents WHERE id=?1").bind(1, id).run("drop intent"));
  return {};
}

}  // namespace

Status Store::apply(const Batch& b) {
  if (b.empty()) return {};
  CNM_TRY(exec("BEGIN IMMEDIATE"));
  auto r = apply_writes(*stmts_, b);
  if (!r) {
    (void)exec("ROLLBACK");
    return r;
  }
  if (auto c = exec("COMMIT"); !c) {
    (void)exec("ROLLBACK");
    return c;
  }
  return {};
}

}  // namespace cnm::store
