#ifndef TEMOIN_CLIENT_CORE_REVIEW_DESK_H_
#define TEMOIN_CLIENT_CORE_REVIEW_DESK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/vault/vault.h"
#include "crypto/secret_buffer.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/review.pb.h"
#include "temoin/v1/testimony.pb.h"

// The reviewer's desk: grants and fetched records, kept sealed in the vault
//   fetched/<record_id>   FetchedEntry (still sealed: decrypted only in memory)
// and opened on demand. No gRPC here: sync fills the desk, the CLI reads it.
namespace temoin::client {

inline constexpr char kFetchedNs[] = "fetched";

// Verifies the org signature on the grant's project key, unwraps the epoch secret with
// the device's own key and checks it matches the signed public key, then stores it.
// kUnauthenticated when any check fails (nothing stored).
absl::Status StoreGrant(Vault& vault, const v1::Grant& grant);

absl::StatusOr<bool> HasFetched(Vault& vault, absl::string_view record_id);
// `log_refusals`, when given, holds for each record why its transparency-log proof
// failed at the pull (empty: proven); such a record is kept but shown as unverified.
absl::Status StoreFetched(Vault& vault, const std::vector<v1::FetchedRecord>& records,
                          const std::vector<std::string>& log_refusals = {});

// What a reviewer is shown of one record. Ids and sequence come from the signed header,
// log index and time from the verified receipt, never from the server's listing.
struct OpenedRecord {
  std::string record_id;  // 16 bytes; the id the server served it under when unverified
  std::string project;
  std::string device_id;
  uint64_t device_seq = 0;
  uint64_t log_index = 0;   // the server's listing when the receipt does not verify
  int64_t received_at = 0;  // likewise
  // True when the whole chain verifies: the organisation signed the invite, the invite
  // key and the device signed the certificate, the certified device (a monitor of this
  // project) signed the record, the server's receipt names it, and the server served it
  // under its own id. Otherwise `unverified_reason` says which link failed (no plaintext).
  bool verified = false;
  std::string unverified_reason;
  // The server says its device had signalled duress when it arrived (issue 12): it may
  // have been made or sent by whoever held the device. Kept apart, never trusted as is.
  bool quarantined = false;
  v1::Testimony testimony;
};

// Records held elsewhere (a desk's records, in an order the caller chose), not owned.
using RecordRefs = std::vector<const OpenedRecord*>;

// `records` in their order, by address.
RecordRefs RefsTo(const std::vector<OpenedRecord>& records);

struct RecordFailure {
  std::string record_id;
  std::string reason;  // no plaintext
};

struct OpenedDesk {
  std::vector<OpenedRecord> records;    // by log index; unverified ones included, marked
  std::vector<RecordFailure> failures;  // could not be opened at all
  // Where the server's listing disagreed with what the record and its receipt sign
  // (reason names the field): the signed value is what `records` shows.
  std::vector<RecordFailure> listing_mismatches;
  size_t unverified() const;
};

// Opens every fetched record: device certificate (against the pinned organisation key),
// device signature, server receipt, project binding and the body are each checked. A
// record that opens but whose chain fails is kept, marked unverified. One bad record
// never stops the others. Only vault errors fail the call.
absl::StatusOr<OpenedDesk> OpenDesk(Vault& vault);

// A fetched record as stored (untrusted). kNotFound when this desk has not fetched it,
// kDataLoss when it does not parse.
absl::StatusOr<v1::FetchedEntry> LoadFetched(Vault& vault, absl::string_view record_id);

// The record's own data key, unwrapped with the granted epoch key: what `review evidence
// --disclose` hands a court so that it can open this record and no other. kNotFound when
// no granted key opens it; kUnauthenticated when its wrapped key does not open.
absl::StatusOr<crypto::SecretBuffer> FetchedDataKey(Vault& vault, const v1::FetchedEntry& entry);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_REVIEW_DESK_H_
