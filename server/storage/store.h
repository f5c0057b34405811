#ifndef TEMOIN_SERVER_STORAGE_STORE_H_
#define TEMOIN_SERVER_STORAGE_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// The server's key-value store, behind a small interface so that the protocol core is
// tested on an in-memory store and a second engine can be added for deployments that
// outgrow one machine. Keys and values are opaque bytes.
namespace temoin::server {

// An atomic group of writes.
class WriteBatch {
 public:
  void Put(absl::string_view key, absl::string_view value) {
    ops_.emplace_back(std::string(key), std::string(value));
  }
  void Delete(absl::string_view key) { ops_.emplace_back(std::string(key), std::nullopt); }
  const std::vector<std::pair<std::string, std::optional<std::string>>>& ops() const {
    return ops_;
  }
  bool empty() const { return ops_.empty(); }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> ops_;
};

// The committed size of the record log (the number of leaves of the transparency log),
// big-endian u64. Written only by Store::AppendToLog.
inline constexpr absl::string_view kLogSizeKey = "meta/log_size";

// What one append to the log commits: every write that goes with it (the records, their
// leaves and tree nodes, anything else of the same request) and the log's new size.
// `new_size` equals the size given to the builder when nothing is logged.
struct LogAppend {
  WriteBatch batch;
  uint64_t new_size = 0;
};

// Builds a LogAppend from the committed log size. See Store::AppendToLog.
using LogAppendBuilder = std::function<absl::StatusOr<LogAppend>(uint64_t log_size)>;

// Builds the writes of one read-modify-write under a lock. See Store::CommitLocked.
using LockedBuilder = std::function<absl::StatusOr<WriteBatch>()>;

class Store {
 public:
  virtual ~Store() = default;

  // std::nullopt when absent. kDataLoss on corruption.
  virtual absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) = 0;

  // Applies `batch` atomically and returns only once it is durable (fsync'd): callers
  // acknowledge to peers after this returns. kResourceExhausted when the disk is full
  // (nothing applied); kDataLoss on corruption.
  virtual absl::Status Commit(const WriteBatch& batch) = 0;

  // The log's sequencer: the only writer of kLogSizeKey, so that log indexes are dense and
  // ordered even with several front-ends on one store. Contract, for every engine:
  //  1. Takes the log's lock, held until the commit is done: no other AppendToLog (in
  //     this process or any other front-end of the same store) builds or commits between.
  //  2. Reads the committed size (0 when kLogSizeKey is absent) and calls `build(size)`
  //     exactly once under the lock. `build` may Get and Scan; it must not Commit or call
  //     AppendToLog. Everything it reads was committed before the lock was taken or by
  //     itself, so the leaves it numbers from `size` are the next ones.
  //  3. When `build` fails, commits nothing and returns its status. When it returns an
  //     empty batch and new_size == size, commits nothing. Otherwise commits its batch
  //     and kLogSizeKey = new_size in one atomic, durable commit (as Commit). new_size <
  //     size is kInternal (a log never shrinks).
  // Returns the committed size after the call. The in-process engines (memory, RocksDB)
  // lock a mutex; a PostgreSQL store does BEGIN; SELECT size FROM log_head FOR UPDATE;
  // build; the batch's writes; UPDATE log_head; COMMIT (scale-out.md §4).
  virtual absl::StatusOr<uint64_t> AppendToLog(const LogAppendBuilder& build) = 0;

  // The committed log size (reads kLogSizeKey; no lock).
  absl::StatusOr<uint64_t> LogSize();

  // A hint from inside an AppendToLog or CommitLocked builder: the builder will Get
  // these keys. An engine whose reads cost a round trip (PostgreSQL) reads them all at
  // once, and the builder's later Gets of them answer from that read: values as committed
  // when Prefetch ran, which the lock held keeps current for keys that every writer
  // writes under it. Elsewhere, and for in-process engines, it does nothing.
  virtual absl::Status Prefetch(const std::vector<std::string>& keys) { return absl::OkStatus(); }

  // A read-modify-write of state that every front-end of the store shares (the audit
  // chain's head, one-time enrolment codes, sign-in nonces). Contract, for every engine:
  //  1. Takes the lock named `lock`, held until the commit is done: no other
  //     CommitLocked of the same name, in this process or any other front-end of the
  //     same store, builds or commits between. (Engines may let two names share a lock.)
  //  2. Calls `build` exactly once under it. `build` may Get and Scan and sees every
  //     commit made under the same lock before; it must not Commit, CommitLocked or
  //     AppendToLog (locks are never nested, so there is no deadlock).
  //  3. When `build` fails, commits nothing and returns its status. An empty batch
  //     commits nothing. Otherwise the batch is committed atomically and durably, as
  //     Commit (PostgreSQL: after the synchronous standby confirmed it).
  // The default serves engines whose writers all live in this process (memory,
  // RocksDB): striped in-process mutexes. PgStore holds pg_advisory_xact_lock instead.
  virtual absl::Status CommitLocked(absl::string_view lock, const LockedBuilder& build);

  // An abuse budget shared by every front-end (a device's upload bytes per day): adds
  // `delta` to counter `name` and returns its new value, unless the counter already is
  // at or above `limit` in `window` (kResourceExhausted, nothing added). A counter last
  // touched in another window starts again from 0 (one row per name, not per window).
  // A negative `delta` gives back (never below 0; `limit` is not checked). Soft state:
  // it may be lost on a crash or a failover (the budget then starts afresh) and never
  // waits for a standby. The default keeps counters in this process's memory (forgets
  // those of past windows once there are many), which is right for an engine used by
  // one process at a time; PgStore keeps them in a table.
  virtual absl::StatusOr<uint64_t> AddToCounter(absl::string_view name, int64_t window,
                                                int64_t delta, uint64_t limit);

  // Bytes the engine holds in this process's memory for unflushed writes and its read
  // cache (temoin_store_memory_bytes), or nullopt when its memory lives elsewhere
  // (PostgreSQL) or is the data itself (the in-memory engine).
  virtual std::optional<uint64_t> MemoryBytes() { return std::nullopt; }

  // Calls `visit` for each key that starts with `prefix` and sorts after `start_after`
  // (empty: from the first), in key order, until it returns false.
  virtual absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      const std::function<bool(absl::string_view key, absl::string_view value)>& visit) = 0;

 private:
  struct Counter {
    int64_t window = 0;
    uint64_t value = 0;
  };
  std::array<std::mutex, 16> lock_stripes_;  // the default CommitLocked's locks
  std::mutex counters_mu_;
  std::map<std::string, Counter, std::less<>> counters_;  // the default AddToCounter's
};

// AppendToLog for engines whose writers all live in this process: `log_mu` is the
// log's lock. Shared by MemoryStore and RocksStore.
absl::StatusOr<uint64_t> AppendToLogInProcess(Store& store, std::mutex& log_mu,
                                              const LogAppendBuilder& build);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_STORAGE_STORE_H_
