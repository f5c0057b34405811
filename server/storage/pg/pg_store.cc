#include "server/storage/pg/pg_store.h"

#include <poll.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>

#include "absl/memory/memory.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "libpq-fe.h"

namespace temoin::server {
namespace {

// Type oids of the parameters we send (pg_type.h; stable across releases).
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kByteaArrayOid = 1001;
// pg_try_advisory_lock key of Options::single_process: "temoin01" as a big-endian int8.
constexpr uint64_t kGuardLock = 0x74656d6f696e3031;
constexpr int kScanPageRows = 32;  // values may be attachment pieces: bound the memory

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;
struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};

// One bound parameter, always sent in binary.
struct Param {
  std::string bytes;
  Oid type = kByteaOid;
  bool is_null = false;
};
Param Bytes(absl::string_view value) { return Param{std::string(value), kByteaOid}; }

// One statement of a pipeline (PgConnection::Pipeline).
struct Statement {
  const char* sql;
  std::vector<Param> params;
};
Param Int8(uint64_t value) { return Param{EncodeU64BigEndian(value), kInt8Oid}; }

void AppendU32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}
// PostgreSQL's binary array format (array_send): one dimension, no nulls.
Param ByteaArray(const std::vector<absl::string_view>& items) {
  std::string out;
  AppendU32(out, 1);  // dimensions
  AppendU32(out, 0);  // has nulls
  AppendU32(out, kByteaOid);
  AppendU32(out, static_cast<uint32_t>(items.size()));
  AppendU32(out, 1);  // lower bound
  for (absl::string_view item : items) {
    AppendU32(out, static_cast<uint32_t>(item.size()));
    out.append(item.data(), item.size());
  }
  return Param{std::move(out), kByteaArrayOid};
}

absl::string_view Field(const PGresult* result, int row, int column) {
  return absl::string_view(PQgetvalue(result, row, column), PQgetlength(result, row, column));
}

// SQLSTATE -> absl at the storage edge, with the same meanings as RocksStore: disk full
// is kResourceExhausted, a database that cannot take writes now is kUnavailable.
absl::Status FromPg(const PGresult* result, absl::string_view fallback) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* text =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const std::string message =
      absl::StrCat("PostgreSQL: ", text != nullptr ? text : fallback,
                   state != nullptr ? absl::StrCat(" (SQLSTATE ", state, ")") : "");
  if (state == nullptr) return absl::UnavailableError(message);  // no answer: connection lost
  const absl::string_view code(state);
  if (code == "53100") return absl::ResourceExhaustedError("server storage is full");
  if (absl::StartsWith(code, "53")) return absl::ResourceExhaustedError(message);
  if (absl::StartsWith(code, "08") || absl::StartsWith(code, "57P") || code == "25006" ||
      code == "40001" || code == "40P01" || code == "55P03" || code == "57014") {
    // connection, shutdown, read-only (a standby), serialisation, lock, cancelled
    return absl::UnavailableError(message);
  }
  if (code == "XX001" || code == "XX002") return absl::DataLossError(message);
  if (code == "42P01") {
    return absl::FailedPreconditionError(
        "the PostgreSQL database has no temoin schema; run temoin-server init --store");
  }
  return absl::InternalError(message);
}

using Clock = std::chrono::steady_clock;

}  // namespace

// One libpq connection. Not thread-safe: a connection is used by one thread at a time
// (PgStore's pool hands it out).
class PgConnection {
 public:
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo,
                                                               std::chrono::milliseconds deadline) {
    auto connection = absl::WrapUnique(new PgConnection(deadline));
    connection->conn_.reset(PQconnectdb(conninfo.c_str()));
    if (connection->conn_ == nullptr) return absl::ResourceExhaustedError("out of memory");
    if (PQstatus(connection->conn_.get()) != CONNECTION_OK) {
      // libpq's text names the host and the reason; the conninfo (a password) is not in it.
      return absl::UnavailableError(
          absl::StrCat("cannot reach PostgreSQL: ", PQerrorMessage(connection->conn_.get())));
    }
    PQsetNoticeReceiver(connection->conn_.get(), &PgConnection::OnNotice, connection.get());
    // A role or database default of synchronous_commit = off/local would acknowledge
    // commits the standby never saw. Insist on the server's strongest ordinary setting.
    TEMOIN_RETURN_IF_ERROR(connection->Exec("SET synchronous_commit = on", {}).status());
    return connection;
  }

  // Runs one statement (binary parameters and results) and waits at most the store's
  // deadline; past it the statement is cancelled, the connection dropped and the call
  // is kUnavailable. `commit`: a WARNING notice during it (the synchronous standby's
  // wait was cancelled: committed here, maybe not replicated) is a failure too.
  absl::StatusOr<Result> Exec(const char* sql, const std::vector<Param>& params,
                              bool commit = false) {
    commit_running_ = commit;
    absl::StatusOr<Result> result = ExecOnce(sql, params, commit);
    commit_running_ = false;
    if (commit && !result.ok()) Doubt();
    return result;
  }

  // Runs `statements` in one round trip (libpq's pipeline mode) and returns each one's
  // result. `commit`: the last statement is the COMMIT, checked as Exec checks one.
  absl::StatusOr<std::vector<Result>> Pipeline(const std::vector<Statement>& statements,
                                               bool commit = false) {
    commit_running_ = commit;
    absl::StatusOr<std::vector<Result>> results = PipelineOnce(statements, commit);
    commit_running_ = false;
    if (commit && !results.ok()) Doubt();
    return results;
  }

  bool broken() const { return broken_; }
  // Counted up whenever a COMMIT's replication became unknown (PgStore's read barrier).
  void set_doubts(std::atomic<uint64_t>* doubts) { doubts_ = doubts; }

 private:
  absl::StatusOr<Result> ExecOnce(const char* sql, const std::vector<Param>& params, bool commit) {
    if (broken_) return absl::UnavailableError("PostgreSQL connection lost");
    warning_.clear();
    TEMOIN_RETURN_IF_ERROR(Send({sql, params}));
    TEMOIN_ASSIGN_OR_RETURN(Result last, ReadResult(commit));
    TEMOIN_RETURN_IF_ERROR(Check(last, commit));
    return last;
  }

  // In pipeline mode every statement is sent before any answer is read, and the server
  // runs them in order and stops at the first error: one round trip for what would be
  // one each. A failure anywhere drops the connection (its transaction with it).
  absl::StatusOr<std::vector<Result>> PipelineOnce(const std::vector<Statement>& statements,
                                                   bool commit) {
    if (broken_) return absl::UnavailableError("PostgreSQL connection lost");
    warning_.clear();
    PGconn* conn = conn_.get();
    if (PQenterPipelineMode(conn) != 1) return Broken(PQerrorMessage(conn));
    for (const Statement& statement : statements) TEMOIN_RETURN_IF_ERROR(Send(statement));
    if (PQpipelineSync(conn) != 1) return Broken(PQerrorMessage(conn));
    std::vector<Result> results;
    for (size_t i = 0; i < statements.size(); ++i) {
      const bool last = i + 1 == statements.size();
      TEMOIN_ASSIGN_OR_RETURN(Result result, ReadResult(commit && last));
      TEMOIN_RETURN_IF_ERROR(Check(result, commit && last));
      results.push_back(std::move(result));
    }
    TEMOIN_RETURN_IF_ERROR(AwaitResult(false));
    Result sync(PQgetResult(conn));
    if (sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
      return Broken("the pipeline's end was not answered");
    }
    if (PQexitPipelineMode(conn) != 1) return Broken(PQerrorMessage(conn));
    return results;
  }

  absl::Status Send(const Statement& statement) {
    std::vector<Oid> types;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats(statement.params.size(), 1);
    for (const Param& param : statement.params) {
      types.push_back(param.type);
      values.push_back(param.is_null ? nullptr : param.bytes.data());
      lengths.push_back(static_cast<int>(param.bytes.size()));
    }
    PGconn* conn = conn_.get();
    if (PQsendQueryParams(conn, statement.sql, static_cast<int>(statement.params.size()),
                          types.data(), values.data(), lengths.data(), formats.data(), 1) != 1) {
      return Broken(PQerrorMessage(conn));
    }
    return absl::OkStatus();
  }

  // The last result of the statement being answered (a null one when the connection
  // gave none).
  absl::StatusOr<Result> ReadResult(bool commit) {
    PGconn* conn = conn_.get();
    Result last;
    while (true) {
      TEMOIN_RETURN_IF_ERROR(AwaitResult(commit));
      PGresult* next = PQgetResult(conn);
      if (next == nullptr) break;
      last.reset(next);
    }
    if (PQstatus(conn) == CONNECTION_BAD) return Broken(PQerrorMessage(conn));
    return last;
  }

  // A statement's result: an error, or a COMMIT that rolled back or that the standby's
  // WARNING left unconfirmed, fails and drops the connection.
  absl::Status Check(const Result& result, bool commit) {
    PGconn* conn = conn_.get();
    const ExecStatusType status =
        result != nullptr ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      broken_ = true;  // the transaction is aborted: drop it with the connection
      return FromPg(result.get(), PQerrorMessage(conn));
    }
    if (commit && std::strcmp(PQcmdStatus(result.get()), "COMMIT") != 0) {
      broken_ = true;
      return absl::UnavailableError("PostgreSQL rolled the transaction back");
    }
    if (commit && !warning_.empty()) {
      broken_ = true;
      std::fprintf(stderr, "temoin-server: PostgreSQL commit not confirmed: %s\n",
                   warning_.c_str());
      return absl::UnavailableError(
          "the commit was not confirmed by the synchronous standby; retry later");
    }
    return absl::OkStatus();
  }

  void Doubt() {
    if (doubts_ != nullptr) doubts_->fetch_add(1);
  }

  explicit PgConnection(std::chrono::milliseconds deadline) : deadline_(deadline) {}

  absl::Status Broken(absl::string_view why) {
    broken_ = true;
    return absl::UnavailableError(absl::StrCat("PostgreSQL connection lost: ", why));
  }

  // Reads until the result is complete, or cancels it at the deadline.
  absl::Status AwaitResult(bool commit) {
    PGconn* conn = conn_.get();
    const Clock::time_point until = Clock::now() + deadline_;
    while (PQisBusy(conn) == 1) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) return CancelAtDeadline(commit);
      pollfd fd{.fd = PQsocket(conn), .events = POLLIN, .revents = 0};
      if (poll(&fd, 1, static_cast<int>(left)) < 0 && errno != EINTR) {
        return Broken("poll failed");
      }
      if (PQconsumeInput(conn) != 1) return Broken(PQerrorMessage(conn));
    }
    return absl::OkStatus();
  }

  // The backend is told to stop (a COMMIT waiting for the standby then ends "committed
  // locally"); either way this call reports failure, and the connection is dropped.
  absl::Status CancelAtDeadline(bool commit) {
    if (commit) Doubt();  // before the cancel can make the commit visible
    if (PGcancel* cancel = PQgetCancel(conn_.get())) {
      char error[256];
      PQcancel(cancel, error, sizeof error);
      PQfreeCancel(cancel);
    }
    broken_ = true;
    return absl::UnavailableError(absl::StrCat(
        commit ? "the database did not confirm the commit (is the synchronous standby down?)"
               : "the database did not answer",
        " within ", deadline_.count(), " ms; retry later"));
  }

  static void OnNotice(void* arg, const PGresult* result) {
    auto* self = static_cast<PgConnection*>(arg);
    const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity == nullptr || std::strcmp(severity, "WARNING") != 0) return;
    const char* text = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    self->warning_ = text != nullptr && *text != '\0' ? text : "warning";
    if (self->commit_running_) self->Doubt();
  }

  const std::chrono::milliseconds deadline_;
  std::unique_ptr<PGconn, ConnDeleter> conn_;
  std::string warning_;  // the last WARNING of the running statement
  bool broken_ = false;
  bool commit_running_ = false;
  std::atomic<uint64_t>* doubts_ = nullptr;
};

namespace {
// The connection of the AppendToLog transaction this thread is in, so that the
// builder's Get and Scan read inside it (and cannot wait for a second connection).
struct OpenTransaction {
  const PgStore* store = nullptr;
  PgConnection* connection = nullptr;
  // Store::Prefetch's answers in this builder: the value, or none for an absent key.
  std::map<std::string, std::optional<std::string>, std::less<>> prefetched;
};
thread_local OpenTransaction open_transaction;

// The batch's final state per key (a later op on a key replaces an earlier one, as
// applying them in order would), as at most two statements whatever its size.
std::vector<Statement> WritesOf(const WriteBatch& batch) {
  std::map<absl::string_view, const std::optional<std::string>*> last;
  for (const auto& [key, value] : batch.ops()) last[key] = &value;
  std::vector<absl::string_view> deleted, put_keys, put_values;
  for (const auto& [key, value] : last) {
    if (value->has_value()) {
      put_keys.push_back(key);
      put_values.push_back(**value);
    } else {
      deleted.push_back(key);
    }
  }
  std::vector<Statement> writes;
  if (!deleted.empty()) {
    writes.push_back({"DELETE FROM kv WHERE key = ANY($1)", {ByteaArray(deleted)}});
  }
  if (!put_keys.empty()) {
    writes.push_back(
        {"INSERT INTO kv (key, value) SELECT * FROM unnest($1, $2) "
         "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
         {ByteaArray(put_keys), ByteaArray(put_values)}});
  }
  return writes;
}

// The writes and the COMMIT, in one round trip.
absl::Status CommitWrites(PgConnection& connection, std::vector<Statement> writes) {
  writes.push_back({"COMMIT", {}});
  return connection.Pipeline(writes, /*commit=*/true).status();
}

}  // namespace

class PgStore::Lease {
 public:
  explicit Lease(PgStore& store) : store_(store) {
    if (open_transaction.store == &store) {
      borrowed_ = open_transaction.connection;
    } else {
      absl::StatusOr<std::unique_ptr<PgConnection>> acquired = store.Acquire();
      if (acquired.ok()) {
        owned_ = std::move(*acquired);
      } else {
        status_ = acquired.status();
      }
    }
  }
  ~Lease() {
    if (owned_ != nullptr) store_.Release(std::move(owned_));
  }
  const absl::Status& status() const { return status_; }
  PgConnection& operator*() { return borrowed_ != nullptr ? *borrowed_ : *owned_; }
  bool in_transaction() const { return borrowed_ != nullptr; }

 private:
  PgStore& store_;
  PgConnection* borrowed_ = nullptr;
  std::unique_ptr<PgConnection> owned_;
  absl::Status status_;
};

PgStore::PgStore(std::string conninfo, Options options)
    : conninfo_(std::move(conninfo)), options_(options) {}
PgStore::~PgStore() = default;

absl::StatusOr<std::unique_ptr<PgStore>> PgStore::Open(const std::string& conninfo,
                                                       const Options& options) {
  auto store = absl::WrapUnique(new PgStore(conninfo, options));
  if (options.single_process) {
    TEMOIN_ASSIGN_OR_RETURN(store->guard_, PgConnection::Connect(conninfo, options.deadline));
    TEMOIN_ASSIGN_OR_RETURN(
        Result locked, store->guard_->Exec("SELECT pg_try_advisory_lock($1)", {Int8(kGuardLock)}));
    if (PQntuples(locked.get()) != 1 || PQgetlength(locked.get(), 0, 0) != 1 ||
        *PQgetvalue(locked.get(), 0, 0) == 0) {
      return absl::FailedPreconditionError(
          "another temoin-server process is using this PostgreSQL database; one process at "
          "a time is supported (docs/admin-guide.md, \"PostgreSQL\")");
    }
  }
  Lease lease(*store);
  TEMOIN_RETURN_IF_ERROR(lease.status());
  TEMOIN_ASSIGN_OR_RETURN(Result head,
                          (*lease).Exec("SELECT tree_size FROM log_head WHERE log_id = 0", {}));
  if (PQntuples(head.get()) != 1) {
    return absl::FailedPreconditionError(
        "the PostgreSQL database has no log head; run temoin-server init --store");
  }
  // Databases made before counters existed get the table now (IF NOT EXISTS).
  TEMOIN_ASSIGN_OR_RETURN(Result counters,
                          (*lease).Exec("SELECT to_regclass('counters') IS NULL", {}));
  if (PQntuples(counters.get()) == 1 && *PQgetvalue(counters.get(), 0, 0) != 0) {
    TEMOIN_RETURN_IF_ERROR(
        (*lease)
            .Exec("CREATE TABLE IF NOT EXISTS counters (name bytea PRIMARY KEY, "
                  "win bigint NOT NULL, value bigint NOT NULL CHECK (value >= 0))",
                  {})
            .status());
  }
  return store;
}

absl::Status PgStore::CreateSchema(const std::string& conninfo) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> connection,
                          PgConnection::Connect(conninfo, Options{}.deadline));
  // Values may be attachment pieces (ciphertext): out of line, no compression attempt.
  for (const char* sql : {
           "CREATE TABLE IF NOT EXISTS kv (key bytea PRIMARY KEY, value bytea NOT NULL)",
           "ALTER TABLE kv ALTER COLUMN value SET STORAGE EXTERNAL",
           "CREATE TABLE IF NOT EXISTS log_head (log_id int PRIMARY KEY, "
           "tree_size bigint NOT NULL CHECK (tree_size >= 0))",
           "INSERT INTO log_head VALUES (0, 0) ON CONFLICT DO NOTHING",
           // Store::AddToCounter: one row per counter, reset when its window changes.
           "CREATE TABLE IF NOT EXISTS counters (name bytea PRIMARY KEY, "
           "win bigint NOT NULL, value bigint NOT NULL CHECK (value >= 0))",
       }) {
    TEMOIN_RETURN_IF_ERROR(connection->Exec(sql, {}).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgStore::Acquire() {
  {
    std::unique_lock lock(pool_mu_);
    if (!pool_cv_.wait_for(lock, options_.deadline, [&] {
          return !idle_.empty() || open_connections_ < options_.max_connections;
        })) {
      return absl::UnavailableError("all PostgreSQL connections are busy; retry later");
    }
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    ++open_connections_;
  }
  absl::StatusOr<std::unique_ptr<PgConnection>> connection =
      PgConnection::Connect(conninfo_, options_.deadline);
  if (connection.ok()) (*connection)->set_doubts(&doubts_);
  if (!connection.ok()) {
    std::lock_guard lock(pool_mu_);
    --open_connections_;
    pool_cv_.notify_one();
  }
  return connection;
}

void PgStore::Release(std::unique_ptr<PgConnection> connection) {
  std::lock_guard lock(pool_mu_);
  if (connection->broken()) {
    --open_connections_;  // closed here; the next Acquire reconnects
  } else {
    idle_.push_back(std::move(connection));
  }
  pool_cv_.notify_one();
}

absl::StatusOr<std::optional<std::string>> PgStore::GetOn(PgConnection& connection,
                                                          absl::string_view key) {
  TEMOIN_ASSIGN_OR_RETURN(Result result,
                          connection.Exec("SELECT value FROM kv WHERE key = $1", {Bytes(key)}));
  if (PQntuples(result.get()) == 0) return std::nullopt;
  return std::string(Field(result.get(), 0, 0));
}

absl::StatusOr<std::optional<std::string>> PgStore::Get(absl::string_view key) {
  if (open_transaction.store == this) {
    const auto it = open_transaction.prefetched.find(key);
    if (it != open_transaction.prefetched.end()) return it->second;
  }
  std::optional<std::string> value;
  TEMOIN_RETURN_IF_ERROR(ReadConfirmed([&]() -> absl::Status {
    Lease lease(*this);
    TEMOIN_RETURN_IF_ERROR(lease.status());
    TEMOIN_ASSIGN_OR_RETURN(value, GetOn(*lease, key));
    return absl::OkStatus();
  }));
  return value;
}

absl::Status PgStore::Prefetch(const std::vector<std::string>& keys) {
  if (open_transaction.store != this || keys.empty()) return absl::OkStatus();
  std::vector<absl::string_view> wanted(keys.begin(), keys.end());
  TEMOIN_ASSIGN_OR_RETURN(
      Result result, open_transaction.connection->Exec(
                         "SELECT key, value FROM kv WHERE key = ANY($1)", {ByteaArray(wanted)}));
  for (const std::string& key : keys) open_transaction.prefetched[key] = std::nullopt;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    open_transaction.prefetched[std::string(Field(result.get(), row, 0))] =
        std::string(Field(result.get(), row, 1));
  }
  return absl::OkStatus();
}

// A commit whose wait for the standby was cancelled is committed here, replicated or
// not, and visible to every later read; a caller must not answer from it (e.g. hand out
// a stored receipt). So while such a doubt is open, reads first wait for a commit the
// standby confirms, which covers all WAL before it (scale-out.md §4, trap 3). A store
// starts in doubt: the previous process may have left one behind.
absl::Status PgStore::ConfirmReplicated() {
  const uint64_t doubts = doubts_.load();
  if (confirmed_.load() >= doubts) return absl::OkStatus();
  Lease lease(*this);
  TEMOIN_RETURN_IF_ERROR(lease.status());
  // The row lock gives the transaction an id, so its COMMIT writes WAL and waits.
  TEMOIN_RETURN_IF_ERROR(CommitWrites(
      *lease, {{"BEGIN", {}}, {"SELECT 1 FROM log_head WHERE log_id = 0 FOR UPDATE", {}}}));
  uint64_t confirmed = confirmed_.load();
  while (confirmed < doubts && !confirmed_.compare_exchange_weak(confirmed, doubts)) {
  }
  return absl::OkStatus();
}

absl::Status PgStore::ReadConfirmed(const std::function<absl::Status()>& read) {
  // Inside an AppendToLog builder the transaction's own COMMIT waits for the standby.
  if (open_transaction.store == this) return read();
  for (int attempt = 0; attempt < 3; ++attempt) {
    const uint64_t doubts = doubts_.load();
    TEMOIN_RETURN_IF_ERROR(ConfirmReplicated());
    TEMOIN_RETURN_IF_ERROR(read());
    if (doubts_.load() == doubts) return absl::OkStatus();  // no doubt arose meanwhile
  }
  return absl::UnavailableError("the database's standby has not confirmed recent commits");
}

absl::Status PgStore::Commit(const WriteBatch& batch) {
  if (batch.empty()) return absl::OkStatus();
  Lease lease(*this);
  TEMOIN_RETURN_IF_ERROR(lease.status());
  if (lease.in_transaction()) {
    return absl::InternalError("Store::Commit called from inside an AppendToLog builder");
  }
  std::vector<Statement> statements = WritesOf(batch);
  statements.insert(statements.begin(), Statement{"BEGIN", {}});
  return CommitWrites(*lease, std::move(statements));
}

absl::StatusOr<uint64_t> PgStore::AppendToLog(const LogAppendBuilder& build) {
  Lease lease(*this);
  TEMOIN_RETURN_IF_ERROR(lease.status());
  if (lease.in_transaction()) {
    return absl::InternalError("Store::AppendToLog called from inside an AppendToLog builder");
  }
  PgConnection& connection = *lease;
  // Any failure below leaves the connection broken (Exec marks it) or is followed by an
  // explicit ROLLBACK, so a half-built transaction never commits.
  TEMOIN_ASSIGN_OR_RETURN(
      std::vector<Result> opened,
      connection.Pipeline(
          {{"BEGIN", {}}, {"SELECT tree_size FROM log_head WHERE log_id = 0 FOR UPDATE", {}}}));
  const Result& head = opened[1];
  if (PQntuples(head.get()) != 1 || PQgetlength(head.get(), 0, 0) != 8) {
    connection.Exec("ROLLBACK", {}).IgnoreError();
    return absl::FailedPreconditionError("the PostgreSQL database has no log head");
  }
  const uint64_t head_size = DecodeU64BigEndian(Field(head.get(), 0, 0));
  open_transaction = {this, &connection};
  absl::StatusOr<uint64_t> size = LogSize();
  absl::StatusOr<LogAppend> append =
      size.ok() && *size == head_size ? build(*size) : absl::StatusOr<LogAppend>(size.status());
  open_transaction = {};
  if (size.ok() && *size != head_size) {
    append = absl::DataLossError(
        absl::StrCat("log_head says ", head_size, " leaves but ", kLogSizeKey, " says ", *size));
  }
  if (append.ok() && append->new_size < *size) {
    append = absl::InternalError(
        absl::StrCat("log append would shrink the log from ", *size, " to ", append->new_size));
  }
  if (!append.ok()) {
    if (!connection.broken()) connection.Exec("ROLLBACK", {}).IgnoreError();
    return append.status();
  }
  std::vector<Statement> tail;
  if (append->new_size != *size) {
    append->batch.Put(kLogSizeKey, EncodeU64BigEndian(append->new_size));
    tail.push_back(
        {"UPDATE log_head SET tree_size = $1 WHERE log_id = 0", {Int8(append->new_size)}});
  }
  for (Statement& write : WritesOf(append->batch)) tail.push_back(std::move(write));
  // COMMIT even when nothing was written: the row lock gave the transaction an id, so
  // this waits for the standby, and a caller answering "already stored" answers after a
  // replicated commit (trap 3).
  TEMOIN_RETURN_IF_ERROR(CommitWrites(connection, std::move(tail)));
  return append->new_size;
}

namespace {
// pg_advisory_xact_lock's key for a CommitLocked name: FNV-1a 64 of it, so that every
// front-end computes the same key (std::hash need not agree across builds).
uint64_t AdvisoryKey(absl::string_view lock) {
  uint64_t hash = 0xcbf29ce484222325;
  for (char c : absl::StrCat("temoin/lock/", lock)) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3;
  }
  return hash == kGuardLock ? hash + 1 : hash;
}
}  // namespace

absl::Status PgStore::CommitLocked(absl::string_view lock, const LockedBuilder& build) {
  Lease lease(*this);
  TEMOIN_RETURN_IF_ERROR(lease.status());
  if (lease.in_transaction()) {
    return absl::InternalError("Store::CommitLocked called from inside a locked builder");
  }
  PgConnection& connection = *lease;
  TEMOIN_RETURN_IF_ERROR(
      connection
          .Pipeline(
              {{"BEGIN", {}}, {"SELECT pg_advisory_xact_lock($1)", {Int8(AdvisoryKey(lock))}}})
          .status());
  open_transaction = {this, &connection};
  absl::StatusOr<WriteBatch> batch = build();
  open_transaction = {};
  if (!batch.ok() || batch->empty()) {
    if (!connection.broken()) connection.Exec("ROLLBACK", {}).IgnoreError();
    return batch.status();
  }
  return CommitWrites(connection, WritesOf(*batch));
}

absl::StatusOr<uint64_t> PgStore::AddToCounter(absl::string_view name, int64_t window,
                                               int64_t delta, uint64_t limit) {
  Lease lease(*this);
  TEMOIN_RETURN_IF_ERROR(lease.status());
  if (lease.in_transaction()) {
    return absl::InternalError("Store::AddToCounter called from inside a locked builder");
  }
  // One autocommit statement. set_config(..., true) lasts until the end of this
  // statement's transaction, so its commit does not wait for the standby. No row
  // comes back when the counter is at its limit in this window.
  constexpr char kAdd[] =
      "INSERT INTO counters AS c (name, win, value) "
      "SELECT $1, $2, greatest($3, 0) FROM (SELECT set_config('synchronous_commit', 'local', "
      "true)) AS local_commit "
      "ON CONFLICT (name) DO UPDATE SET win = $2, value = greatest(0, CASE WHEN c.win = $2 "
      "THEN c.value + $3 ELSE greatest($3, 0) END) "
      "WHERE c.win <> $2 OR $3 < 0 OR c.value < $4 RETURNING value";
  const uint64_t bounded_limit = std::min<uint64_t>(limit, INT64_MAX);
  TEMOIN_ASSIGN_OR_RETURN(
      Result result,
      (*lease).Exec(kAdd, {Bytes(name), Int8(static_cast<uint64_t>(window)),
                           Int8(static_cast<uint64_t>(delta)), Int8(bounded_limit)}));
  if (PQntuples(result.get()) != 1) {
    return absl::ResourceExhaustedError(absl::StrCat("counter is at its limit of ", limit));
  }
  return DecodeU64BigEndian(Field(result.get(), 0, 0));
}

absl::Status PgStore::Scan(absl::string_view prefix, absl::string_view start_after,
                           const std::function<bool(absl::string_view, absl::string_view)>& visit) {
  // Pages in key order; the connection goes back to the pool before `visit` runs, so a
  // visitor may use the store. Each page is its own snapshot (RocksStore's iterator has
  // one for the whole scan): a key committed meanwhile may or may not be seen.
  std::string after(start_after);
  bool inclusive = start_after < prefix;  // start at the prefix itself
  if (inclusive) after = std::string(prefix);
  while (true) {
    std::vector<std::pair<std::string, std::string>> rows;
    TEMOIN_RETURN_IF_ERROR(ReadConfirmed([&]() -> absl::Status {
      rows.clear();
      Lease lease(*this);
      TEMOIN_RETURN_IF_ERROR(lease.status());
      const std::string sql =
          absl::StrCat("SELECT key, value FROM kv WHERE key ", inclusive ? ">=" : ">",
                       " $1 ORDER BY key LIMIT ", kScanPageRows);
      TEMOIN_ASSIGN_OR_RETURN(Result result, (*lease).Exec(sql.c_str(), {Bytes(after)}));
      for (int row = 0; row < PQntuples(result.get()); ++row) {
        rows.emplace_back(Field(result.get(), row, 0), Field(result.get(), row, 1));
      }
      return absl::OkStatus();
    }));
    for (const auto& [key, value] : rows) {
      if (!absl::StartsWith(key, prefix)) return absl::OkStatus();
      if (!visit(key, value)) return absl::OkStatus();
    }
    if (rows.size() < kScanPageRows) return absl::OkStatus();
    after = rows.back().first;
    inclusive = false;
  }
}

absl::StatusOr<uint64_t> PgStore::CountKeys() {
  Lease lease(*this);
  TEMOIN_RETURN_IF_ERROR(lease.status());
  TEMOIN_ASSIGN_OR_RETURN(Result result, (*lease).Exec("SELECT count(*)::int8 FROM kv", {}));
  return DecodeU64BigEndian(Field(result.get(), 0, 0));
}

}  // namespace temoin::server
