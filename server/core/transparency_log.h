#ifndef TEMOIN_SERVER_CORE_TRANSPARENCY_LOG_H_
#define TEMOIN_SERVER_CORE_TRANSPARENCY_LOG_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/checkpoint.h"
#include "crypto/keys.h"
#include "crypto/log_leaf.h"
#include "server/storage/store.h"

// The server's transparency log: one RFC 9162 Merkle tree over every accepted record, in
// log-index order (leaf index = log index - 1). Leaves are written by Ingest in the same
// Store::AppendToLog commit as the records they name; this class reads the tree back for
// roots, proofs and signed checkpoints (c2sp.org/tlog-checkpoint).
//
// Store keys:
//   tlog/n/<level u8><index be64>   32-byte hash of the complete subtree (level, index)
//                                   (level 0: the leaf hashes)
//   meta/log_size                   the tree size (Store::AppendToLog)
namespace temoin::server {

using crypto::kLogKeyContext;

namespace keys {
std::string LogNode(int level, uint64_t index);
}  // namespace keys

// The leaf and its encoding (crypto/log_leaf.h): devices rebuild it to check proofs.
using crypto::EncodeLogLeaf;
using crypto::LogLeaf;

// Adds to `batch` the leaf hashes of `leaves` (taking indexes log_size, log_size + 1, ...)
// and every complete subtree they complete; reads earlier nodes from `store`. Called
// inside a Store::AppendToLog builder.
absl::Status AddLogLeaves(Store& store, uint64_t log_size, const std::vector<std::string>& leaves,
                          WriteBatch& batch);

// The log's origin line and key name: "temoin.log/" and 16 hex digits of the key's hash.
std::string LogOrigin(absl::string_view log_public_key);

class TransparencyLog {
 public:
  // Neither owned. Without a log key (set_log_key), proofs work and checkpoints do not.
  explicit TransparencyLog(Store* store) : store_(store) {}

  // `origin` is the log's name in its checkpoints: LogOrigin(key) for the first key, kept
  // unchanged under every later key (a rotation signs the same tree under the same name).
  // Empty: LogOrigin(key).
  void set_log_key(crypto::SigningKey key, std::string origin = "");
  // The note verifier key, or kFailedPrecondition without a log key.
  absl::StatusOr<std::string> Vkey() const;

  // A signed checkpoint of size >= `min_size` (and <= the committed size). One is signed
  // at most once a second: a request for a size the latest one does not cover waits for
  // the second to pass. The checkpoint's extension line commits to the audit chain's
  // head. kFailedPrecondition without a log key, kInvalidArgument if min_size is beyond
  // the log.
  struct Signed {
    uint64_t size = 0;
    std::string root;
    std::string note;
  };
  absl::StatusOr<Signed> CheckpointCovering(uint64_t min_size);

  // The committed tree size.
  absl::StatusOr<uint64_t> Size() { return store_->LogSize(); }
  absl::StatusOr<std::string> Root(uint64_t size);
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t leaf_index, uint64_t size);
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t old_size, uint64_t new_size);
  // One proof for several leaves (0-based, strictly increasing): crypto/merkle.h.
  absl::StatusOr<std::vector<std::string>> MultiInclusionProof(
      const std::vector<uint64_t>& leaf_indexes, uint64_t size);
  absl::StatusOr<std::string> LeafHash(uint64_t leaf_index);

 private:
  Store* const store_;
  std::optional<crypto::SigningKey> log_key_;
  std::string origin_;
  std::mutex mu_;  // the latest checkpoint
  std::optional<Signed> latest_;
  std::chrono::steady_clock::time_point last_signed_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_TRANSPARENCY_LOG_H_
