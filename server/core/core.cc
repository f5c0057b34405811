#include "server/core/core.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "crypto/auth.h"

namespace temoin::server {
namespace {

// Long enough for a round (signing waits up to 1 s, then a round trip per witness), short
// enough that a slow witness costs a device little: it then gets fewer cosignatures.
constexpr std::chrono::milliseconds kWitnessWait{3000};

// The announcement names the key already served (an unparsable one is sent as it is:
// devices check it and refuse it themselves).
bool AnnouncesServedKey(const v1::TlsKeyAnnouncement& announcement, absl::string_view served) {
  v1::TlsKeyAnnouncementBody body;
  return !served.empty() && body.ParseFromString(announcement.body()) &&
         body.next_spki_sha256() == served;
}

}  // namespace

absl::Status Core::AddInclusions(const v1::GetLogProofsRequest& request, uint64_t size,
                                 v1::GetLogProofsResponse& response) {
  for (uint64_t index : request.log_indexes()) {
    v1::LogInclusionProof* proof = response.add_inclusion();
    proof->set_log_index(index);
    TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> hashes, log_.InclusionProof(index - 1, size));
    for (std::string& hash : hashes) proof->add_hashes(std::move(hash));
  }
  return absl::OkStatus();
}

absl::Status Core::AddJointInclusion(const v1::GetLogProofsRequest& request, uint64_t size,
                                     v1::GetLogProofsResponse& response) {
  std::vector<uint64_t> leaves;  // 0-based, sorted, each once
  for (uint64_t index : request.log_indexes()) leaves.push_back(index - 1);
  std::sort(leaves.begin(), leaves.end());
  leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> hashes, log_.MultiInclusionProof(leaves, size));
  for (std::string& hash : hashes) response.add_joint_inclusion(std::move(hash));
  return absl::OkStatus();
}

absl::Status Core::NoteDuressSignal(absl::string_view device_id, absl::string_view nonce,
                                    absl::string_view signal) {
  if (!bundle_key_.has_value() || !crypto::OpenDuressSignal(signal, nonce, *bundle_key_)) {
    return absl::OkStatus();
  }
  TEMOIN_ASSIGN_OR_RETURN(int64_t since, registry_.DuressSince(device_id));
  if (since != 0) return absl::OkStatus();  // marked once; every later sign-in repeats it
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device, registry_.Device(device_id));
  const int64_t now = clock_->NowSeconds();
  WriteBatch batch;
  batch.Put(keys::Duress(device_id), absl::StrCat(std::max<int64_t>(now - now % 3600, 1)));
  return audit_.CommitWith(std::move(batch),
                           {{std::string(device_id), "device.duress", std::string(device_id),
                             device.has_value() ? device->project() : ""}});
}

absl::StatusOr<v1::GetSettingsResponse> Core::GetSettings(const Session& session) {
  v1::GetSettingsResponse response;
  *response.mutable_vocabulary() = vocabulary_;
  if (bundle_key_.has_value()) response.set_bundle_public_key(bundle_key_->public_key());
  if (!session.device.project_id().empty()) {
    TEMOIN_ASSIGN_OR_RETURN(auto project, registry_.ProjectById(session.device.project_id()));
    if (project.has_value()) *response.mutable_project_keys() = project->keys();
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::TlsKeyAnnouncement> next_tls, registry_.NextTlsKey());
  if (next_tls.has_value() && !AnnouncesServedKey(*next_tls, served_tls_pin_)) {
    *response.mutable_next_tls_key() = *std::move(next_tls);
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::ServerKeyStatement> server_keys,
                          registry_.ServerKeyStatement());
  if (server_keys.has_value()) {
    *response.mutable_server_keys() = *std::move(server_keys);
    response.set_receipt_key_id(crypto::KeyId(receipt_public_key_));
  }
  return response;
}

absl::StatusOr<v1::GetLogProofsResponse> Core::GetLogProofs(const Session& session,
                                                            const v1::GetLogProofsRequest& request,
                                                            LogProofsVia via) {
  constexpr int kMaxIndexes = 1024;
  if (request.log_indexes_size() > kMaxIndexes) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxIndexes, " log indexes in one request"));
  }
  uint64_t needed = 0;
  for (uint64_t index : request.log_indexes()) {
    if (index == 0) return absl::InvalidArgumentError("log indexes start at 1");
    needed = std::max(needed, index);
  }
  // The checkpoint must also cover the one the device holds (when the log has that many
  // leaves): a cached checkpoint older than the device's would look like a rollback.
  TEMOIN_ASSIGN_OR_RETURN(uint64_t log_size, log_.Size());
  needed = std::max(needed, std::min(request.old_size(), log_size));
  // A no-op sync's check reads the checkpoint alone (sync.proto): no proof, no
  // signature over the log key, and no wait for witnesses, whose cosignatures that
  // check does not ask for (it looks for a rollback or a same-size fork).
  if (request.checkpoint_only()) {
    TEMOIN_ASSIGN_OR_RETURN(TransparencyLog::Signed latest, log_.CheckpointCovering(needed));
    v1::GetLogProofsResponse response;
    response.set_checkpoint(std::move(latest.note));
    metrics_->CountLogProofs(via);
    return response;
  }
  // With witnesses, the newest checkpoint they cosigned that covers the request (waiting
  // a little for the round under way); without, or if none came in time, an uncosigned one.
  std::optional<TransparencyLog::Signed> cosigned;
  if (witnesses_ != nullptr && witnesses_->size() > 0) {
    cosigned = witnesses_->Cosigned(needed, kWitnessWait);
  }
  TEMOIN_ASSIGN_OR_RETURN(
      TransparencyLog::Signed checkpoint,
      cosigned.has_value() ? *std::move(cosigned) : log_.CheckpointCovering(needed));
  v1::GetLogProofsResponse response;
  response.set_checkpoint(checkpoint.note);
  TEMOIN_ASSIGN_OR_RETURN(std::string vkey, log_.Vkey());
  // A device that holds this key checks the checkpoint with it (sync.proto held_log_key).
  if (request.held_log_key() != crypto::LogKeyTag(vkey)) {
    response.set_log_vkey_signature(receipt_key_.Sign(kLogKeyContext, vkey));
    response.set_log_vkey(std::move(vkey));
  }
  TEMOIN_RETURN_IF_ERROR(request.joint() ? AddJointInclusion(request, checkpoint.size, response)
                                         : AddInclusions(request, checkpoint.size, response));
  if (request.old_size() > 0 && request.old_size() < checkpoint.size) {
    TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> hashes,
                            log_.ConsistencyProof(request.old_size(), checkpoint.size));
    for (std::string& hash : hashes) response.add_consistency(std::move(hash));
  }
  metrics_->CountLogProofs(via);
  return response;
}

}  // namespace temoin::server
