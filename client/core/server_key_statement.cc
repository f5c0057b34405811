#include "client/core/server_key_statement.h"

#include <algorithm>

#include "common/status_macros.h"

namespace temoin::client {
namespace {

// Makes `key` a current receipt key of `keys` (from `from` when new). kFailedPrecondition
// for a key the organisation retired: it cannot be current again.
absl::Status KeepCurrent(crypto::ServerKeys& keys, absl::string_view key, int64_t from) {
  const crypto::CertifiedKey* listed = keys.FindReceiptKey(key);
  if (listed != nullptr && !listed->current()) {
    return absl::FailedPreconditionError(
        "that receipt key was retired; it cannot be current again");
  }
  if (listed == nullptr) keys.receipt_keys.push_back({std::string(key), from, {}});
  return absl::OkStatus();
}

// The same for a log key.
absl::Status KeepCurrentLogKey(crypto::ServerKeys& keys, absl::string_view vkey, int64_t from) {
  const crypto::CertifiedKey* listed = keys.FindLogKey(vkey);
  if (listed != nullptr && !listed->current()) {
    return absl::FailedPreconditionError("that log key was retired; it cannot be current again");
  }
  if (listed == nullptr) keys.log_keys.push_back({std::string(vkey), from, {}});
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<crypto::ServerKeys> NextServerKeyStatement(const std::optional<HeldServerKeys>& held,
                                                          absl::string_view receipt_key,
                                                          absl::string_view next_receipt_key,
                                                          absl::string_view log_vkey,
                                                          absl::string_view next_log_vkey,
                                                          int64_t now_seconds) {
  const int64_t now = now_seconds / 60 * 60;
  const int64_t retired_at = (now_seconds + 59) / 60 * 60;
  crypto::ServerKeys keys;
  if (held.has_value()) keys = held->keys;
  const int64_t from = held.has_value() ? now : 0;
  TEMOIN_RETURN_IF_ERROR(KeepCurrent(keys, receipt_key, from));
  if (!next_receipt_key.empty()) TEMOIN_RETURN_IF_ERROR(KeepCurrent(keys, next_receipt_key, now));
  for (crypto::CertifiedKey& key : keys.receipt_keys) {
    if (key.current() && key.key != receipt_key && key.key != next_receipt_key) {
      key.until = std::max(retired_at, key.from);
    }
  }
  TEMOIN_RETURN_IF_ERROR(KeepCurrentLogKey(keys, log_vkey, from));
  if (!next_log_vkey.empty()) TEMOIN_RETURN_IF_ERROR(KeepCurrentLogKey(keys, next_log_vkey, now));
  for (crypto::CertifiedKey& key : keys.log_keys) {
    if (key.current() && key.key != log_vkey && key.key != next_log_vkey) {
      key.until = std::max(retired_at, key.from);
    }
  }
  keys.issued = held.has_value() ? std::max(now, held->keys.issued) : now;
  return keys;
}

}  // namespace temoin::client
