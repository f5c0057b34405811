#include "server/storage/memory_store.h"

namespace temoin::server {

absl::StatusOr<std::optional<std::string>> MemoryStore::Get(absl::string_view key) {
  std::lock_guard lock(mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryStore::Commit(const WriteBatch& batch) {
  std::lock_guard lock(mu_);
  if (full_) return absl::ResourceExhaustedError("server storage is full");
  for (const auto& [key, value] : batch.ops()) {
    if (value.has_value()) {
      data_[key] = *value;
    } else {
      data_.erase(key);
    }
  }
  return absl::OkStatus();
}

absl::Status MemoryStore::Scan(
    absl::string_view prefix, absl::string_view start_after,
    const std::function<bool(absl::string_view, absl::string_view)>& visit) {
  // Copy under the lock so that `visit` may call back into the store.
  std::vector<std::pair<std::string, std::string>> rows;
  {
    std::lock_guard lock(mu_);
    // Start at whichever sorts later: the prefix or just after `start_after`.
    auto it = start_after < prefix ? data_.lower_bound(prefix) : data_.upper_bound(start_after);
    for (; it != data_.end() && absl::string_view(it->first).substr(0, prefix.size()) == prefix;
         ++it) {
      rows.emplace_back(it->first, it->second);
    }
  }
  for (const auto& [key, value] : rows) {
    if (!visit(key, value)) break;
  }
  return absl::OkStatus();
}

void MemoryStore::SetFull(bool full) {
  std::lock_guard lock(mu_);
  full_ = full;
}

size_t MemoryStore::size() const {
  std::lock_guard lock(mu_);
  return data_.size();
}

}  // namespace temoin::server
