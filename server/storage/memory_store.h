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
  absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) override;

  // Test hook: the next commits fail with kResourceExhausted, as a full disk would.
  void SetFull(bool full);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> data_;
  bool full_ = false;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_STORAGE_MEMORY_STORE_H_
