#include "client/sync/fetched_proofs.h"

#include <optional>

#include "client/sync/log_check.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/log_leaf.h"

namespace temoin::client {
namespace {

// The leaf the log must hold for `record`, from the values a reviewer trusts: the
// signed header and the envelope itself, and the receipt's index and hour (which the
// desk then checks against the receipt signature). None when they do not parse.
std::optional<crypto::LogLeaf> ClaimedLeaf(const v1::FetchedRecord& record) {
  v1::RecordHeader header;
  v1::ReceiptBody receipt;
  if (!header.ParseFromString(record.envelope().header()) ||
      !receipt.ParseFromString(record.receipt().body()) || receipt.log_index() == 0) {
    return std::nullopt;
  }
  return crypto::LogLeaf{.log_index = receipt.log_index(),
                         .record_id = header.record_id(),
                         .digest = crypto::RecordDigest(record.envelope()),
                         .device_id = header.device_id(),
                         .device_seq = header.device_seq(),
                         .received_hour = receipt.received_at()};
}

// What the server's or the proof's answer says about one record alone: a refusal to
// keep beside it, or an error that stops the pull.
bool IsRecordsOwnFault(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDataLoss ||
         status.code() == absl::StatusCode::kInvalidArgument;
}

}  // namespace

absl::Status ProveFetched(Vault& vault, Connection& connection, const v1::Profile& profile,
                          const std::vector<v1::FetchedRecord>& records,
                          std::vector<std::string>& log_refusals) {
  log_refusals.assign(records.size(), "");
  std::vector<crypto::LogLeaf> leaves;
  std::vector<size_t> positions;
  for (size_t i = 0; i < records.size(); ++i) {
    std::optional<crypto::LogLeaf> leaf = ClaimedLeaf(records[i]);
    if (!leaf.has_value()) continue;
    leaves.push_back(*std::move(leaf));
    positions.push_back(i);
  }
  if (leaves.empty()) return absl::OkStatus();
  const absl::Status joint = CheckLog(vault, connection, profile.server_signing_key(), leaves);
  if (joint.ok() || !IsRecordsOwnFault(joint)) return joint;
  // Some record is not in the log, or the log itself forked: the log alone tells which.
  TEMOIN_RETURN_IF_ERROR(CheckLog(vault, connection, profile.server_signing_key()));
  for (size_t i = 0; i < leaves.size(); ++i) {
    absl::Status alone = CheckLog(vault, connection, profile.server_signing_key(), {leaves[i]},
                                  LeafProofs::kPathEach);
    if (!alone.ok() && !IsRecordsOwnFault(alone)) return alone;
    if (!alone.ok()) log_refusals[positions[i]] = std::string(alone.message());
  }
  return absl::OkStatus();
}

}  // namespace temoin::client
