// Prepared statements for cnm/store: a per-connection cache, and Stmt, RAII over one use of a
// cached statement with positional binding. Private to cnm/store.
#pragma once

#include <sqlite3.h>

#include <deque>
#include <string>
#include <string_view>

#include "cnm/model/error.h"

namespace cnm::store {

// Each process prepares a statement once and reuses it: preparing parses and plans the SQL, which
// is a large share of a short command's own instructions. Finalizes everything on destruction,
// which must come before the connection closes.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  ~StmtCache() {
    for (auto& e : entries_) sqlite3_finalize(e.stmt);
  }
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;

  sqlite3* db() const { return db_; }

  struct Entry {
    std::string sql;
    sqlite3_stmt* stmt = nullptr;
    bool busy = false;
  };
  // The idle cached statement for `sql`, prepared on first use; nullptr with rc set when preparing
  // fails. A statement already in use (a second Stmt of the same SQL alive) is not shared: the
  // caller gets nullptr and rc SQLITE_OK, and prepares one of its own.
  Entry* take(std::string_view sql, int& rc) {
    rc = SQLITE_OK;
    for (auto& e : entries_)
      if (e.sql == sql) {
        if (e.busy) return nullptr;
        e.busy = true;
        return &e;
      }
    sqlite3_stmt* st = nullptr;
    rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                            SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) return nullptr;
    entries_.push_back(Entry{std::string(sql), st, true});
    return &entries_.back();
  }

 private:
  sqlite3* db_;
  // Few distinct statements per process (about twenty): a linear search beats hashing. A deque, as
  // a Stmt keeps pointing into its Entry while other Stmts add entries.
  std::deque<Entry> entries_;
};

class Stmt {
 public:
  Stmt(StmtCache& cache, std::string_view sql) : db_(cache.db()) {
    StmtCache::Entry* e = cache.take(sql, rc_);
    if (e != nullptr) {
      stmt_ = e->stmt;
      busy_ = &e->busy;
    } else if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
      own_ = true;
    }
  }
  ~Stmt() {
    if (own_) {
      sqlite3_finalize(stmt_);
    } else if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
      *busy_ = false;
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& bind(int i, std::string_view v) {
    if (ok())
      rc_ = sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    if (ok()) rc_ = sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int step() { return ok() ? sqlite3_step(stmt_) : rc_; }
  Status run(std::string_view doing) {
    int rc = step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
      return fail(Code::kFailed, "{}: {}", doing, sqlite3_errmsg(db_));
    return {};
  }
  std::string text(int col) const {
    auto* p = sqlite3_column_text(stmt_, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool* busy_ = nullptr;
  bool own_ = false;
  int rc_;
};

}  // namespace cnm::store
