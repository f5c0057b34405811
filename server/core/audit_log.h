#ifndef TEMOIN_SERVER_CORE_AUDIT_LOG_H_
#define TEMOIN_SERVER_CORE_AUDIT_LOG_H_

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "crypto/keys.h"
#include "server/storage/store.h"
#include "temoin/v1/admin.pb.h"

// The server's append-only, hash-chained audit log:
//   aud/<index be64>   serialized AuditEntry (index from 1)
//   audh               head: size be64 || hash of the last entry
// hash_i = BLAKE2b-256("temoin/audit/v1", hash_{i-1} || entry_bytes_i), hash_0 = 32 zero
// bytes. The head is signed with the receipt key on every read, so a log rewritten on
// disk no longer matches a head a client saw earlier, and a stored entry edited in place
// breaks the chain. Thread-safe.
namespace temoin::server {

inline constexpr absl::string_view kAuditChainContext = "temoin/audit/v1";
inline constexpr absl::string_view kAuditHeadContext = "temoin/audit-head/v1";

struct AuditEvent {
  std::string actor_device_id;
  std::string action;
  std::string object;
  std::string project;
};

// hash_i from hash_{i-1} and the stored bytes of entry i (both sides use this).
std::string AuditChainHash(absl::string_view previous_hash, absl::string_view entry_bytes);
// What the head signature covers.
std::string AuditHeadMessage(uint64_t size, absl::string_view hash);

class AuditLog {
 public:
  static constexpr uint32_t kDefaultPage = 1000;

  // None owned; all must outlive this.
  AuditLog(Store* store, const Clock* clock, const crypto::SigningKey* head_key);

  // Adds `events` to `batch` (with the new head) and commits it: the action and its
  // audit entries become durable together or not at all. Commits are serialised.
  absl::Status CommitWith(WriteBatch batch, const std::vector<AuditEvent>& events);

  // A page of stored entries after `after_index`, with the signed head.
  absl::StatusOr<v1::GetAuditLogResponse> Read(uint64_t after_index, uint32_t limit);

 private:
  absl::Status LoadHeadLocked();
  Store* const store_;
  const Clock* const clock_;
  const crypto::SigningKey* const head_key_;
  std::mutex mu_;
  bool loaded_ = false;
  uint64_t size_ = 0;
  std::string hash_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_AUDIT_LOG_H_
