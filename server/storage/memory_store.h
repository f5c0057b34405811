#ifndef TEMOIN_SERVER_STORAGE_MEMORY_STORE_H_
#define TEMOIN_SERVER_STORAGE_MEMORY_STORE_H_

#include <map>
#include <mutex>

#include "server/storage/store.h"

namespace temoin::server {

// In-memory Store for fast, deterministic protocol tests. Thread-safe.
class MemoryStore final : public Store {
 public:
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) override;
  absl::Status Commit(const WriteBatch& batch) override;
  absl::StatusOr<uint64_t> AppendToLog(const LogAppendBuilder& build) override {
    return AppendToLogInProcess(*this, log_mu_, build);
  }
  absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) override;

  // Test hook: the next commits fail with kResourceExhausted, as a full disk would.
  void SetFull(bool full);
  size_t size() const;

 private:
  std::mutex log_mu_;  // the log's lock (AppendToLog)
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> data_;
  bool full_ = false;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_STORAGE_MEMORY_STORE_H_
