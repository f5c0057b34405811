#ifndef TEMOIN_SERVER_STORAGE_PG_PG_STORE_H_
#define TEMOIN_SERVER_STORAGE_PG_PG_STORE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/storage/store.h"

namespace temoin::server {

class PgConnection;  // pg_store.cc: one libpq connection and its notice flag

// The Store on PostgreSQL 15 (docs/admin-guide.md "PostgreSQL"; scale-out.md §3, §4):
//   kv(key bytea PRIMARY KEY, value bytea NOT NULL)   every key of the store; bytea
//                                                     sorts by memcmp, as RocksDB does
//   log_head(log_id int PRIMARY KEY, tree_size bigint) its row lock is the log's lock
// Commit and AppendToLog are one transaction each, and return OK only once COMMIT
// returned with no warning: with synchronous_standby_names set, that means the standby
// holds the commit. A commit whose wait for the standby was cancelled (by us at the
// deadline, or by anyone: libpq reports it only as a WARNING notice and success) is
// kUnavailable: the caller must sign no receipt for it. kResourceExhausted when the
// database's disk is full; kUnavailable when it cannot be reached or is read-only (a
// standby); a broken connection is dropped and the next call reconnects (a multi-host
// conninfo with target_session_attrs=read-write finds the new primary). Thread-safe: a
// small pool of connections. After a commit whose replication is unknown, reads wait for
// a confirmed commit before answering (ConfirmReplicated), so nothing read from this
// store names data the standby may lack.
class PgStore final : public Store {
 public:
  struct Options {
    // Every statement, COMMIT included, is cancelled after this long and the call fails
    // with kUnavailable. statement_timeout cannot do this: it does not bound the
    // commit's wait for a synchronous standby (scale-out.md §4, trap 1).
    std::chrono::milliseconds deadline{10000};
    int max_connections = 8;  // the server's --workers default
    // Hold a session-level advisory lock on a connection of its own for the store's
    // lifetime, and refuse to open (kFailedPrecondition) while another process holds it.
    // For offline commands that must have the database to themselves (migrate); `run`
    // does not set it since the state front-ends share lives in the store
    // (CommitLocked, AddToCounter). A guard, not a fence: a failover drops it.
    bool single_process = false;
  };

  // Connects (one connection, to fail early) and checks that the schema exists.
  // kFailedPrecondition when it does not (run temoin-server init --store).
  static absl::StatusOr<std::unique_ptr<PgStore>> Open(const std::string& conninfo,
                                                       const Options& options);
  static absl::StatusOr<std::unique_ptr<PgStore>> Open(const std::string& conninfo) {
    return Open(conninfo, Options{});
  }
  // Creates the tables when missing (idempotent).
  static absl::Status CreateSchema(const std::string& conninfo);

  ~PgStore() override;

  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) override;
  // Inside a builder: one SELECT … WHERE key = ANY($1) for all of them.
  absl::Status Prefetch(const std::vector<std::string>& keys) override;
  absl::Status Commit(const WriteBatch& batch) override;
  // BEGIN; SELECT … FROM log_head FOR UPDATE; build; the batch and kLogSizeKey;
  // UPDATE log_head; COMMIT. Even when nothing is logged the transaction COMMITs (it
  // holds a row lock, so it has written WAL and waits for the standby): a "duplicate"
  // answer then follows a replicated commit too (scale-out.md §4, trap 3).
  absl::StatusOr<uint64_t> AppendToLog(const LogAppendBuilder& build) override;
  // BEGIN; pg_advisory_xact_lock(a hash of `lock`); build; the batch; COMMIT. The lock
  // is the transaction's, so a front-end that dies mid-way releases it with its
  // connection. An empty batch is ROLLed BACK (it wrote nothing).
  absl::Status CommitLocked(absl::string_view lock, const LockedBuilder& build) override;
  // One statement on counters(name, win, value), committed with synchronous_commit =
  // local: a budget is not evidence and must not wait for the standby.
  absl::StatusOr<uint64_t> AddToCounter(absl::string_view name, int64_t window, int64_t delta,
                                        uint64_t limit) override;
  absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) override;

  // Rows in kv (migration checks).
  absl::StatusOr<uint64_t> CountKeys();

 private:
  class Lease;  // a pooled connection, or this thread's open AppendToLog transaction
  PgStore(std::string conninfo, Options options);
  absl::StatusOr<std::unique_ptr<PgConnection>> Acquire();
  void Release(std::unique_ptr<PgConnection> connection);
  absl::StatusOr<std::optional<std::string>> GetOn(PgConnection& connection, absl::string_view key);

  absl::Status ConfirmReplicated();
  // Runs `read` once no commit of this store is in doubt, again if one fell in doubt
  // meanwhile (pg_store.cc says why).
  absl::Status ReadConfirmed(const std::function<absl::Status()>& read);

  const std::string conninfo_;
  // Commits whose replication became unknown, counted; confirmed_: the count a later
  // confirmed commit covers. It starts in doubt (1 > 0).
  std::atomic<uint64_t> doubts_{1};
  std::atomic<uint64_t> confirmed_{0};
  const Options options_;
  std::unique_ptr<PgConnection> guard_;  // holds the single_process lock
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_connections_ = 0;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_STORAGE_PG_PG_STORE_H_
