#include "server/core/audit_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"

namespace temoin::server {
namespace {

constexpr absl::string_view kHeadKey = "audh";
constexpr size_t kHashBytes = 32;

std::string EntryKey(uint64_t index) { return absl::StrCat("aud/", EncodeU64BigEndian(index)); }

}  // namespace

std::string AuditChainHash(absl::string_view previous_hash, absl::string_view entry_bytes) {
  return crypto::Hash256(kAuditChainContext, absl::StrCat(previous_hash, entry_bytes));
}

std::string AuditHeadMessage(uint64_t size, absl::string_view hash) {
  return absl::StrCat(EncodeU64BigEndian(size), hash);
}

AuditLog::AuditLog(Store* store, const Clock* clock, const crypto::SigningKey* head_key)
    : store_(store), clock_(clock), head_key_(head_key) {}

absl::StatusOr<AuditLog::Head> AuditLog::LoadHead() {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> stored, store_->Get(kHeadKey));
  Head head;
  if (!stored.has_value()) {
    head.hash = std::string(kHashBytes, '\0');
  } else if (stored->size() != 8 + kHashBytes) {
    return absl::DataLossError("audit head is damaged");
  } else {
    head.size = DecodeU64BigEndian(absl::string_view(*stored).substr(0, 8));
    head.hash = stored->substr(8);
  }
  return head;
}

absl::Status AuditLog::CommitWith(WriteBatch batch, const std::vector<AuditEvent>& events) {
  return CommitChecked([&](WriteBatch& out, std::vector<AuditEvent>& out_events) {
    out = std::move(batch);
    out_events = events;
    return absl::OkStatus();
  });
}

absl::Status AuditLog::CommitChecked(const AuditedBuilder& build) {
  return store_->CommitLocked(kLock, [&]() -> absl::StatusOr<WriteBatch> {
    WriteBatch batch;
    std::vector<AuditEvent> events;
    TEMOIN_RETURN_IF_ERROR(build(batch, events));
    TEMOIN_ASSIGN_OR_RETURN(Head head, LoadHead());
    const int64_t now = clock_->NowSeconds();
    for (const AuditEvent& event : events) {
      v1::AuditEntry entry;
      entry.set_index(++head.size);
      entry.set_time(now - now % 60);  // to the minute: no finer timing kept
      entry.set_actor_device_id(event.actor_device_id);
      entry.set_action(event.action);
      entry.set_object(event.object);
      entry.set_project(event.project);
      std::string bytes = entry.SerializeAsString();
      head.hash = AuditChainHash(head.hash, bytes);
      batch.Put(EntryKey(head.size), bytes);
    }
    batch.Put(kHeadKey, AuditHeadMessage(head.size, head.hash));
    return batch;
  });
}

absl::StatusOr<v1::GetAuditLogResponse> AuditLog::Read(uint64_t after_index, uint32_t limit) {
  if (limit == 0) limit = kDefaultPage;
  limit = std::min(limit, kDefaultPage);
  v1::GetAuditLogResponse response;
  TEMOIN_ASSIGN_OR_RETURN(Head head, LoadHead());
  response.set_head_size(head.size);
  response.set_head_hash(head.hash);
  // The hash before the page: recomputed by the client from earlier pages; here the
  // server states what its own chain says so a client reading from the middle can start.
  std::string previous(kHashBytes, '\0');
  uint32_t taken = 0;
  std::string start = after_index == 0 ? "" : EntryKey(after_index);
  TEMOIN_RETURN_IF_ERROR(
      store_->Scan("aud/", start, [&](absl::string_view key, absl::string_view value) {
        if (DecodeU64BigEndian(key.substr(4)) > response.head_size()) return false;
        if (taken == limit) {
          response.set_more(true);
          return false;
        }
        response.add_entries(std::string(value));
        ++taken;
        return true;
      }));
  if (after_index > 0) {
    // Recompute up to after_index: the log is small (admin actions and fetches), and
    // this keeps the stored hashes out of the trust path.
    uint64_t seen = 0;
    TEMOIN_RETURN_IF_ERROR(
        store_->Scan("aud/", "", [&](absl::string_view, absl::string_view value) {
          if (++seen > after_index) return false;
          previous = AuditChainHash(previous, value);
          return true;
        }));
  }
  response.set_previous_hash(previous);
  response.set_head_signature(head_key_->Sign(
      kAuditHeadContext, AuditHeadMessage(response.head_size(), response.head_hash())));
  return response;
}

}  // namespace temoin::server
