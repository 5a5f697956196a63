#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <span>

#include "cnm/store/sqlite_util.h"
#include "cnm/store/store.h"

namespace cnm::store {
namespace {

// 1: the first layout, without ipam_hints; 2: ipam_hints; 3: meta (the root id). Opening an older
// file adds what is missing (every statement is IF NOT EXISTS or OR IGNORE) and keeps its tables as
// they are.
constexpr int kSchemaVersion = 3;

// Every page a write touches is a WAL frame that each later process reads until a checkpoint, and
// checkpoints cost fsyncs: so keyed tables are WITHOUT ROWID (the key's index is the table: one
// b-tree to write, not two) and intents take plain rowids (AUTOINCREMENT writes sqlite_sequence on
// every insert; an id needs to be unique among the rows present, not forever). A connect writes 9
// pages instead of 12 (version 1 files keep the old layout, which the same statements serve).
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS networks(id TEXT PRIMARY KEY, name TEXT UNIQUE, parent TEXT, ref TEXT,
  body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS endpoints(id TEXT PRIMARY KEY, name TEXT, parent TEXT, ref TEXT,
  body TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS endpoints_parent ON endpoints(parent);
CREATE INDEX IF NOT EXISTS endpoints_name ON endpoints(name);
CREATE INDEX IF NOT EXISTS endpoints_ref ON endpoints(ref);
CREATE TABLE IF NOT EXISTS sandboxes(id TEXT PRIMARY KEY, name TEXT UNIQUE, parent TEXT, ref TEXT,
  body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS containers(id TEXT PRIMARY KEY, name TEXT UNIQUE, parent TEXT, ref TEXT,
  body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ipam_addresses(pool TEXT NOT NULL, addr TEXT NOT NULL, owner TEXT NOT NULL,
  PRIMARY KEY(pool, addr)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ipam_owner ON ipam_addresses(owner);
CREATE TABLE IF NOT EXISTS intents(id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ipam_hints(pool TEXT PRIMARY KEY, next TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta VALUES('root_id', lower(hex(randomblob(4))));
)";

bool valid_table(const char* t) {
  for (const char* k : {kNetworks, kEndpoints, kSandboxes, kContainers})
    if (std::strcmp(t, k) == 0) return true;
  return false;
}

}  // namespace

Result<WriteLock> Store::lock_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Code::kFailed, "open {}: {}", path, std::strerror(errno));
  WriteLock lock(fd);
  while (flock(fd, LOCK_EX) != 0)
    if (errno != EINTR) return fail(Code::kFailed, "lock {}: {}", path, std::strerror(errno));
  return lock;
}

bool Batch::empty() const {
  return puts.empty() && drops.empty() && add_addresses.empty() && release_addresses.empty() &&
         set_hints.empty() && done_intents.empty();
}

WriteLock::~WriteLock() {
  if (fd_ >= 0) close(fd_);  // closing the descriptor drops the flock
  if (held_) *held_ = false;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& root) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return fail(Code::kFailed, "create state root {}: {}", root, ec.message());
  chmod(root.c_str(), 0700);
  std::string path = root + "/netctl.db";
  // Creating the schema (and switching the file to WAL) is not safe against a second process doing
  // the same: SQLite answers "database is locked" to one of them without waiting. Whoever finds no
  // database, or one without the schema, sets it up holding <root>/init.lock.
  std::optional<WriteLock> init;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || st.st_size == 0) {
    auto l = CNM_VALUE(lock_file(root + "/init.lock"));
    init.emplace(std::move(l));
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Store> s(new Store(root, db));
  if (rc != SQLITE_OK)
    return fail(Code::kFailed, "open store {}: {}", path,
                db ? sqlite3_errmsg(db) : "out of memory");
  sqlite3_busy_timeout(db, 10000);
  // Every command opens and closes the database, and every new process rebuilds SQLite's WAL index
  // by reading the WAL (the -shm file is not trusted once no process has it open). So the WAL is
  // kept short: a process whose writes leave kCheckpointFrames or more copies them back and starts
  // the WAL over as it finishes (finish(), also run by ~Store). SQLite's auto-checkpoint would only
  // copy: the next process, rebuilding the index, would no longer know the frames were copied,
  // append behind them and copy them all again.
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_wal_hook(
      db,
      [](void* self, sqlite3* h, const char* name, int frames) {
        static_cast<Store*>(self)->wal_frames_ = frames;
        if (frames >= kCopyBackFrames)
          sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        return SQLITE_OK;
      },
      s.get());
  // WAL + NORMAL: a commit survives a crash of this process (not a power cut) and costs no fsync.
  // A WAL file grown past kWalKeepBytes (a big gc) is cut back to that when it starts over.
  CNM_TRY(
      s->exec(fmt::format("PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit={}", kWalKeepBytes)
                  .c_str()));
  auto version = [&]() -> Result<int64_t> {
    Stmt v(*s->stmts_, "PRAGMA user_version");
    if (v.step() != SQLITE_ROW) return fail(Code::kFailed, "open store {}: {}", path, v.error());
    return v.integer(0);
  };
  auto have = version();
  if (!have) return std::unexpected(have.error());
  if (*have != kSchemaVersion && !init) {  // another process may be setting it up: wait, look again
    auto l = CNM_VALUE(lock_file(root + "/init.lock"));
    init.emplace(std::move(l));
    have = version();
    if (!have) return std::unexpected(have.error());
  }
  if (*have != kSchemaVersion) {
    CNM_TRY(s->exec("PRAGMA journal_mode=WAL"));
    CNM_TRY(s->exec("BEGIN IMMEDIATE"));
    CNM_TRY(s->exec(kSchema));
    CNM_TRY(s->exec(fmt::format("PRAGMA user_version={}", kSchemaVersion).c_str()));
    CNM_TRY(s->exec("COMMIT"));
  }
  return s;
}

Store::Store(std::string root, sqlite3* db)
    : root_(std::move(root)), db_(db), stmts_(std::make_unique<StmtCache>(db)) {}

Store::~Store() {
  stmts_.reset();  // statements first: a connection closes once they are finalized
  finish();
  sqlite3_close_v2(db_);
}

void Store::finish() {
  if (wal_frames_ < kCheckpointFrames) return;
  wal_frames_ = 0;
  // Never waits: with a reader or a writer in the way the checkpoint is left to a later command.
  sqlite3_busy_timeout(db_, 0);
  int log = -1, copied = -2;
  if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_RESTART, &log, &copied) !=
          SQLITE_OK ||
      log != copied)
    return;
  // Every frame is copied back, and this process knows it: its next commit (one page) starts the
  // WAL over, under a new header salt that makes the old frames invalid for the next process's
  // rebuild. The file is overwritten in place rather than truncated and regrown by the next
  // process (ext4 then allocates its blocks again).
  (void)exec(fmt::format("PRAGMA user_version={}", kSchemaVersion).c_str());
}

Status Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return fail(Code::kFailed, "store: {}", msg);
  }
  return {};
}

Result<WriteLock> Store::lock() {
  // A second flock on a new descriptor would wait for this process's own lock forever.
  if (locked_) return fail(Code::kFailed, "write lock already held by this process");
  auto l = CNM_VALUE(lock_file(root_ + "/lock"));
  l.held_ = &locked_;
  locked_ = true;
  return l;
}

Result<std::optional<Record>> Store::get(const char* table, const std::string& key) {
  if (!valid_table(table)) return fail(Code::kFailed, "store: unknown table {}", table);
  // As Docker resolves a reference: the full id, else the name, else an id prefix (12+ characters).
  // Every id is new_id()'s 64 lowercase hex digits: a key of another length or with other
  // characters is not an id (nor a prefix of one), and that lookup is skipped.
  bool hex = key.find_first_not_of("0123456789abcdef") == std::string::npos;
  const char* where[3];
  size_t n = 0;
  if (hex && key.size() == 64) where[n++] = "id=?1";
  where[n++] = "name=?1";
  if (hex && key.size() >= 12 && key.size() < 64)
    where[n++] = "id LIKE ?1||'%' ORDER BY id LIMIT 1";
  for (const char* w : std::span(where, n)) {
    auto sql = fmt::format("SELECT id, name, parent, body, ref FROM {} WHERE {}", table, w);
    Stmt st(*stmts_, sql);
    st.bind(1, key);
    int rc = st.step();
    if (rc == SQLITE_ROW)
      return std::optional<Record>(
          Record{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4)});
    if (rc != SQLITE_DONE) return fail(Code::kFailed, "read {} {}: {}", table, key, st.error());
  }
  return std::optional<Record>{};
}

Result<std::vector<Record>> Store::list(const char* table, const Filter& f) {
  if (!valid_table(table)) return fail(Code::kFailed, "store: unknown table {}", table);
  std::string where;
  auto add = [&](const std::string& v, const char* cond) {
    if (!v.empty()) where += (where.empty() ? " WHERE " : " AND ") + std::string(cond);
  };
  add(f.name, "name=?1");
  add(f.parent, "parent=?2");
  add(f.ref, "ref=?3");
  add(f.ref_not, "ref<>?4");
  auto sql =
      fmt::format("SELECT id, name, parent, body, ref FROM {}{} ORDER BY name, id", table, where);
  Stmt st(*stmts_, sql.c_str());
  if (!f.name.empty()) st.bind(1, f.name);
  if (!f.parent.empty()) st.bind(2, f.parent);
  if (!f.ref.empty()) st.bind(3, f.ref);
  if (!f.ref_not.empty()) st.bind(4, f.ref_not);
  std::vector<Record> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW)
    out.push_back({st.text(0), st.text(1), st.text(2), st.text(3), st.text(4)});
  if (rc != SQLITE_DONE) return fail(Code::kFailed, "list {}: {}", table, st.error());
  return out;
}

Result<std::vector<std::string>> Store::addresses(const std::string& pool) {
  Stmt st(*stmts_, "SELECT addr FROM ipam_addresses WHERE pool=?1");
  st.bind(1, pool);
  std::vector<std::string> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(st.text(0));
  if (rc != SQLITE_DONE) return fail(Code::kFailed, "read addresses of {}: {}", pool, st.error());
  return out;
}

Result<std::string> Store::address_owner(const std::string& pool, const std::string& addr) {
  Stmt st(*stmts_, "SELECT owner FROM ipam_addresses WHERE pool=?1 AND addr=?2");
  st.bind(1, pool).bind(2, addr);
  int rc = st.step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return fail(Code::kFailed, "read address {}: {}", addr, st.error());
  return st.text(0);
}

Result<int64_t> Store::address_count() {
  Stmt st(*stmts_, "SELECT count(*) FROM ipam_addresses");
  if (st.step() != SQLITE_ROW) return fail(Code::kFailed, "count addresses: {}", st.error());
  return st.integer(0);
}

Result<std::vector<Batch::Addr>> Store::all_addresses() {
  Stmt st(*stmts_, "SELECT pool, addr, owner FROM ipam_addresses ORDER BY pool, addr");
  std::vector<Batch::Addr> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back({st.text(0), st.text(1), st.text(2)});
  if (rc != SQLITE_DONE) return fail(Code::kFailed, "list addresses: {}", st.error());
  return out;
}

Result<std::string> Store::ipam_hint(const std::string& pool) {
  Stmt st(*stmts_, "SELECT next FROM ipam_hints WHERE pool=?1");
  st.bind(1, pool);
  int rc = st.step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW)
    return fail(Code::kFailed, "read allocation hint of {}: {}", pool, st.error());
  return st.text(0);
}

Result<std::string> Store::root_id() {
  if (!root_id_.empty()) return root_id_;
  Stmt st(*stmts_, "SELECT value FROM meta WHERE key='root_id'");
  if (st.step() != SQLITE_ROW) return fail(Code::kFailed, "read root id: {}", st.error());
  std::string id = st.text(0);
  if (id.size() != 8 || id.find_first_not_of("0123456789abcdef") != std::string::npos)
    return fail(Code::kFailed, "store {}: root id \"{}\" is not 8 lowercase hex digits", root_, id);
  root_id_ = id;
  return id;
}

Result<std::string> Store::firewall_backend() {
  Stmt st(*stmts_, "SELECT value FROM meta WHERE key='firewall_backend'");
  int rc = st.step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return fail(Code::kFailed, "read firewall backend: {}", st.error());
  return st.text(0);
}

Status Store::set_firewall_backend(const WriteLock&, const std::string& name) {
  Stmt st(*stmts_, "INSERT OR REPLACE INTO meta VALUES('firewall_backend', ?1)");
  return st.bind(1, name).run("record firewall backend");
}

Result<int64_t> Store::data_version() {
  Stmt st(*stmts_, "PRAGMA data_version");
  if (st.step() != SQLITE_ROW) return fail(Code::kFailed, "read data version: {}", st.error());
  return st.integer(0);
}

Result<int64_t> Store::add_intent(const std::string& body) {
  Stmt st(*stmts_, "INSERT INTO intents(body) VALUES(?1)");
  CNM_TRY(st.bind(1, body).run("record intent"));
  return sqlite3_last_insert_rowid(db_);
}

Status Store::update_intent(int64_t id, const std::string& body) {
  Stmt st(*stmts_, "UPDATE intents SET body=?2 WHERE id=?1");
  return st.bind(1, id).bind(2, body).run("record intent");
}

Result<std::vector<std::pair<int64_t, std::string>>> Store::intents() {
  Stmt st(*stmts_, "SELECT id, body FROM intents ORDER BY id");
  std::vector<std::pair<int64_t, std::string>> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.emplace_back(st.integer(0), st.text(1));
  if (rc != SQLITE_DONE) return fail(Code::kFailed, "read intents: {}", st.error());
  return out;
}

}  // namespace cnm::store
