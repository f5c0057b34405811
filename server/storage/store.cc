#include "server/storage/store.h"

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"

namespace temoin::server {

absl::StatusOr<uint64_t> Store::LogSize() {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(kLogSizeKey));
  if (!value.has_value()) return 0;
  if (value->size() != 8) return absl::DataLossError("stored log size is damaged");
  return DecodeU64BigEndian(*value);
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
