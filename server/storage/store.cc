#include "server/storage/store.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"

namespace temoin::server {
namespace {
// Set while this thread runs a default CommitLocked's builder, so that the in-process
// engines refuse what PgStore refuses there (a nested lock or a counter would need a
// second connection): a builder that breaks the contract fails in unit tests on
// MemoryStore, not first against PostgreSQL.
thread_local bool in_locked_builder = false;

absl::Status RefusedInsideBuilder(absl::string_view call) {
  return absl::InternalError(absl::StrCat("Store::", call, " called from inside a locked builder"));
}
}  // namespace

absl::StatusOr<uint64_t> Store::LogSize() {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(kLogSizeKey));
  if (!value.has_value()) return 0;
  if (value->size() != 8) return absl::DataLossError("stored log size is damaged");
  return DecodeU64BigEndian(*value);
}

absl::Status Store::CommitLocked(absl::string_view lock, const LockedBuilder& build) {
  if (in_locked_builder) return RefusedInsideBuilder("CommitLocked");
  std::lock_guard guard(
      lock_stripes_[std::hash<std::string_view>()(std::string_view(lock.data(), lock.size())) %
                    lock_stripes_.size()]);
  in_locked_builder = true;
  absl::StatusOr<WriteBatch> batch = build();
  in_locked_builder = false;
  if (!batch.ok()) return batch.status();
  if (batch->empty()) return absl::OkStatus();
  return Commit(*batch);
}

absl::StatusOr<uint64_t> Store::AddToCounter(absl::string_view name, int64_t window, int64_t delta,
                                             uint64_t limit) {
  if (in_locked_builder) return RefusedInsideBuilder("AddToCounter");
  // Bounds the map: past windows carry nothing once their window is over.
  constexpr size_t kSweepAbove = 100'000;
  std::lock_guard guard(counters_mu_);
  if (counters_.size() > kSweepAbove) {
    std::erase_if(counters_, [window](const auto& entry) { return entry.second.window < window; });
  }
  auto it = counters_.find(name);
  if (it == counters_.end()) it = counters_.emplace(std::string(name), Counter{window, 0}).first;
  Counter& counter = it->second;
  if (counter.window != window) counter = Counter{window, 0};
  if (delta < 0) {
    const uint64_t back = static_cast<uint64_t>(-delta);
    counter.value = counter.value > back ? counter.value - back : 0;
    return counter.value;
  }
  if (counter.value >= limit) {
    return absl::ResourceExhaustedError(absl::StrCat("counter is at its limit of ", limit));
  }
  counter.value += static_cast<uint64_t>(delta);
  return counter.value;
}

absl::StatusOr<uint64_t> AppendToLogInProcess(Store& store, std::mutex& log_mu,
                                              const LogAppendBuilder& build) {
  std::lock_guard lock(log_mu);
  TEMOIN_ASSIGN_OR_RETURN(uint64_t size, store.LogSize());
  TEMOIN_ASSIGN_OR_RETURN(LogAppend append, build(size));
  if (append.new_size < size) {
    return absl::InternalError(
        absl::StrCat("log append would shrink the log from ", size, " to ", append.new_size));
  }
  if (append.batch.empty() && append.new_size == size) return size;
  if (append.new_size != size) append.batch.Put(kLogSizeKey, EncodeU64BigEndian(append.new_size));
  TEMOIN_RETURN_IF_ERROR(store.Commit(append.batch));
  return append.new_size;
}

}  // namespace temoin::server
