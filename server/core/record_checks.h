#ifndef TEMOIN_SERVER_CORE_RECORD_CHECKS_H_
#define TEMOIN_SERVER_CORE_RECORD_CHECKS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/core/ingest.h"
#include "temoin/v1/server_store.pb.h"
#include "temoin/v1/sync.pb.h"

// What Ingest's files (ingest.cc, body_batch.cc) share: a header's checks and how a
// record's refusal is written into its answer.
namespace temoin::server {

// The refusal of a record whose id is held with another digest (stored, held awaiting
// attachments, or fixed by its commitment); the metrics count it apart.
inline constexpr absl::string_view kConflictMessage =
    "record id already stored with different content";

// `status` as the record's own code and message: the rest of its batch goes on.
void SetError(v1::RecordResult& result, const absl::Status& status);

// Header checks shared by records and commitments: ids, project, recipient keys and
// attachment sizes. The signature is checked by the caller.
absl::Status CheckHeader(const v1::RecordHeader& header, const v1::StoredDevice& device,
                         const v1::StoredProject& project, const IngestLimits& limits);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_RECORD_CHECKS_H_
