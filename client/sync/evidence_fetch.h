#ifndef TEMOIN_CLIENT_SYNC_EVIDENCE_FETCH_H_
#define TEMOIN_CLIENT_SYNC_EVIDENCE_FETCH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/sync/sync_engine.h"
#include "client/vault/vault.h"
#include "crypto/log_leaf.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/sync.pb.h"

// What an evidence package (client/core/evidence_package.h) needs from the server for one
// record the reviewer already fetched: the log's newest checkpoint with the record's
// inclusion proof, and each attachment's ciphertext as stored.
namespace temoin::client {

struct ServerEvidence {
  // Checked like a pull's (log_state.h): the log key tied to the pinned receipt key, the
  // checkpoint consistent with the one this device holds (then stored as held), and the
  // record's leaf in its tree.
  v1::GetLogProofsResponse log;
  struct Blob {
    std::string blob_id;
    std::string ciphertext;  // size and BLAKE2b-256 checked against the signed header
  };
  std::vector<Blob> attachments;
};

// Signs in as this device and fetches the above for `entry` (a fetched record whose
// receipt names `leaf`). kDataLoss (both checkpoints kept) on a rollback, a fork or a
// leaf missing from the log; kDataLoss when an attachment does not match its header;
// kUnavailable when the server cannot be reached.
absl::StatusOr<ServerEvidence> FetchServerEvidence(Vault& vault, const SyncOptions& options,
                                                   const v1::FetchedEntry& entry,
                                                   const crypto::LogLeaf& leaf);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_EVIDENCE_FETCH_H_
