#ifndef TEMOIN_SERVER_CORE_INGEST_H_
#define TEMOIN_SERVER_CORE_INGEST_H_

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "crypto/keys.h"
#include "server/core/registry.h"
#include "server/core/session.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::server {

struct IngestLimits {
  size_t max_records_per_batch = 256;
};

// Takes uploaded sealed records: verifies each (signature against the authenticated
// device, header ids, project and recipient keys), deduplicates by record id and
// digest, writes every new record of the batch in one durable commit, and only then
// signs receipts. The server never opens a record. Thread-safe: batches are committed
// one at a time so the log index is dense and ordered.
class Ingest {
 public:
  // None owned; all must outlive this.
  Ingest(Registry* registry, const Clock* clock, const crypto::SigningKey* receipt_key,
         IngestLimits limits);

  // One RecordResult per envelope, in order. A record that fails validation gets its
  // own code and message and does not affect the others:
  //   kInvalidArgument (malformed; field named), kUnauthenticated (bad signature),
  //   kPermissionDenied (another device's or project's record, or unknown recipient key),
  //   kFailedPrecondition "record id already stored with different content" (the
  //   conflicting envelope is kept as evidence).
  // Same id and digest again: the original receipt. The call itself fails only when
  // the caller may not upload (kPermissionDenied), the batch is too large
  // (kResourceExhausted), or the commit fails (kResourceExhausted when the disk is full;
  // no receipt is given for anything in the batch).
  absl::StatusOr<std::vector<v1::RecordResult>> UploadBatch(
      const Session& session, const google::protobuf::RepeatedPtrField<v1::Envelope>& records);

 private:
  absl::Status LoadLogSizeLocked();

  Registry* const registry_;
  const Clock* const clock_;
  const crypto::SigningKey* const receipt_key_;
  const IngestLimits limits_;
  const std::string server_key_id_;
  std::mutex mu_;
  bool log_size_loaded_ = false;
  uint64_t log_size_ = 0;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_INGEST_H_
