#ifndef TEMOIN_SERVER_STORAGE_STORE_H_
#define TEMOIN_SERVER_STORAGE_STORE_H_

#include <functional>
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

class Store {
 public:
  virtual ~Store() = default;

  // std::nullopt when absent. kDataLoss on corruption.
  virtual absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) = 0;

  // Applies `batch` atomically and returns only once it is durable (fsync'd): callers
  // acknowledge to peers after this returns. kResourceExhausted when the disk is full
  // (nothing applied); kDataLoss on corruption.
  virtual absl::Status Commit(const WriteBatch& batch) = 0;

  // Calls `visit` for each key that starts with `prefix` and sorts after `start_after`
  // (empty: from the first), in key order, until it returns false.
  virtual absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      const std::function<bool(absl::string_view key, absl::string_view value)>& visit) = 0;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_STORAGE_STORE_H_
