#include "server/core/transparency_log.h"

#include <chrono>
#include <map>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/merkle.h"

namespace temoin::server {
namespace {

namespace merkle = crypto::merkle;

constexpr absl::string_view kAuditHeadKey = "audh";  // AuditLog's head: size be64 || hash
constexpr auto kMinCheckpointInterval = std::chrono::seconds(1);

merkle::NodeReader StoreReader(Store& store) {
  return [&store](int level, uint64_t index) -> absl::StatusOr<std::string> {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> hash,
                            store.Get(keys::LogNode(level, index)));
    if (!hash.has_value() || hash->size() != merkle::kHashBytes) {
      return absl::DataLossError(
          absl::StrCat("transparency log node (", level, ", ", index, ") is missing or damaged"));
    }
    return *std::move(hash);
  };
}

}  // namespace

namespace keys {
std::string LogNode(int level, uint64_t index) {
  return absl::StrCat("tlog/n/", std::string(1, static_cast<char>(level)),
                      EncodeU64BigEndian(index));
}
}  // namespace keys

absl::Status AddLogLeaves(Store& store, uint64_t log_size, const std::vector<std::string>& leaves,
                          WriteBatch& batch) {
  // Nodes of this batch are read back from here before the store (not yet committed).
  std::map<std::pair<int, uint64_t>, std::string> written;
  merkle::NodeReader stored = StoreReader(store);
  merkle::NodeReader read = [&](int level, uint64_t index) -> absl::StatusOr<std::string> {
    if (auto it = written.find({level, index}); it != written.end()) return it->second;
    return stored(level, index);
  };
  for (size_t i = 0; i < leaves.size(); ++i) {
    TEMOIN_ASSIGN_OR_RETURN(
        std::vector<merkle::Node> nodes,
        merkle::NodesCompletedBy(read, log_size + i, merkle::HashLeaf(leaves[i])));
    for (merkle::Node& node : nodes) {
      batch.Put(keys::LogNode(node.level, node.index), node.hash);
      written[{node.level, node.index}] = std::move(node.hash);
    }
  }
  return absl::OkStatus();
}

std::string LogOrigin(absl::string_view log_public_key) {
  std::string hash = merkle::HashLeaf(log_public_key);  // any fixed hash will do for a name
  return absl::StrCat("temoin.log/", absl::BytesToHexString(hash.substr(0, 8)));
}

void TransparencyLog::set_log_key(crypto::SigningKey key, std::string origin) {
  std::lock_guard lock(mu_);
  origin_ = origin.empty() ? LogOrigin(key.public_key()) : std::move(origin);
  log_key_.emplace(std::move(key));
  latest_.reset();
}

absl::StatusOr<std::string> TransparencyLog::Vkey() const {
  if (!log_key_.has_value()) return absl::FailedPreconditionError("this server has no log key");
  return crypto::FormatVkey(origin_, log_key_->public_key());
}

absl::StatusOr<std::string> TransparencyLog::Root(uint64_t size) {
  return merkle::Root(StoreReader(*store_), size);
}

absl::StatusOr<std::vector<std::string>> TransparencyLog::InclusionProof(uint64_t leaf_index,
                                                                         uint64_t size) {
  return merkle::InclusionProof(StoreReader(*store_), leaf_index, size);
}

absl::StatusOr<std::vector<std::string>> TransparencyLog::MultiInclusionProof(
    const std::vector<uint64_t>& leaf_indexes, uint64_t size) {
  return merkle::MultiInclusionProof(StoreReader(*store_), leaf_indexes, size);
}

absl::StatusOr<std::vector<std::string>> TransparencyLog::ConsistencyProof(uint64_t old_size,
                                                                           uint64_t new_size) {
  return merkle::ConsistencyProof(StoreReader(*store_), old_size, new_size);
}

absl::StatusOr<std::string> TransparencyLog::LeafHash(uint64_t leaf_index) {
  return StoreReader(*store_)(0, leaf_index);
}

absl::StatusOr<TransparencyLog::Signed> TransparencyLog::CheckpointCovering(uint64_t min_size) {
  std::lock_guard lock(mu_);
  if (!log_key_.has_value()) return absl::FailedPreconditionError("this server has no log key");
  if (latest_.has_value() && latest_->size >= min_size) return *latest_;
  // Held under mu_: whoever waits here gets the checkpoint signed after the wait.
  auto now = std::chrono::steady_clock::now();
  auto next_allowed = last_signed_ + kMinCheckpointInterval;
  if (latest_.has_value() && now < next_allowed) std::this_thread::sleep_until(next_allowed);
  TEMOIN_ASSIGN_OR_RETURN(uint64_t size, store_->LogSize());
  if (size < min_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("the log has ", size, " leaves, fewer than ", min_size));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string root, Root(size));
  crypto::Checkpoint checkpoint{origin_, size, root, {}};
  // The audit chain's head as committed now: rewriting the audit log would no longer
  // match a checkpoint a device holds.
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> audit_head, store_->Get(kAuditHeadKey));
  if (audit_head.has_value() && audit_head->size() == 8 + merkle::kHashBytes) {
    checkpoint.extensions.push_back(crypto::AuditExtension(
        DecodeU64BigEndian(absl::string_view(*audit_head).substr(0, 8)), audit_head->substr(8)));
  } else {
    checkpoint.extensions.push_back(
        crypto::AuditExtension(0, std::string(merkle::kHashBytes, '\0')));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string note, crypto::SignCheckpoint(checkpoint, *log_key_));
  latest_ = Signed{size, std::move(root), std::move(note)};
  last_signed_ = std::chrono::steady_clock::now();
  return *latest_;
}

}  // namespace temoin::server
