#ifndef TEMOIN_SERVER_CORE_AUDIT_LOG_H_
#define TEMOIN_SERVER_CORE_AUDIT_LOG_H_

#include <functional>
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
// breaks the chain. Thread-safe, and safe with several front-ends on one store: appends
// hold Store::CommitLocked(kLock), as log appends hold the log head.
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

// What an audited action writes, built under the audit chain's lock: fills `batch` and
// `events` (entries to append), or fails, and then nothing is written.
using AuditedBuilder =
    std::function<absl::Status(WriteBatch& batch, std::vector<AuditEvent>& events)>;

class AuditLog {
 public:
  static constexpr uint32_t kDefaultPage = 1000;
  // The Store::CommitLocked lock that orders the chain, for every front-end.
  static constexpr absl::string_view kLock = "audit";

  // None owned; all must outlive this.
  AuditLog(Store* store, const Clock* clock, const crypto::SigningKey* head_key);

  // Adds `events` to `batch` (with the new head) and commits it: the action and its
  // audit entries become durable together or not at all.
  absl::Status CommitWith(WriteBatch batch, const std::vector<AuditEvent>& events);

  // As CommitWith, for an action whose checks must hold at the moment of the commit on
  // every front-end (a one-time code consumed once): `build` runs under the chain's lock
  // (Store::CommitLocked), so its reads and the commit are one step. It must not commit.
  absl::Status CommitChecked(const AuditedBuilder& build);

  // A page of stored entries after `after_index`, with the signed head.
  absl::StatusOr<v1::GetAuditLogResponse> Read(uint64_t after_index, uint32_t limit);

 private:
  struct Head {
    uint64_t size = 0;
    std::string hash;
  };
  // The committed head, read from the store each time: another front-end may have
  // appended since.
  absl::StatusOr<Head> LoadHead();
  Store* const store_;
  const Clock* const clock_;
  const crypto::SigningKey* const head_key_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_AUDIT_LOG_H_
