#include "server/core/sign_in.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/vocabulary.h"
#include "crypto/keys.h"
#include "crypto/server_keys.h"

namespace temoin::server {
namespace {

// Whether a device's settings hash (GetSettingsRequest) names `full`, the Hash256 of
// what the server would send: its first 16 bytes (devices since the hashes were
// shortened) or all 32 (devices before). Change detection only: the server is the one
// that sends the settings, so a collision gains nobody anything (it could as well send
// stale ones), and project keys are org-signed and checked on the device anyway.
bool SettingsHashNames(const std::string& sent, const std::string& full) {
  return (sent.size() == 16 || sent.size() == full.size()) &&
         full.compare(0, sent.size(), sent) == 0;
}

// A session for the sign-in: with a token, or (no_session) without one.
absl::StatusOr<Session> Authenticated(SessionAuthority& sessions,
                                      const v1::AuthenticateRequest& request, std::string& token,
                                      std::string& next_nonce) {
  if (request.no_session()) {
    // The same checks and nonce handling, but no token is minted: nothing this answer
    // carries can authorise a call.
    return sessions.AuthenticateWithoutSession(request.device_id(), request.nonce(),
                                               request.signature(), &next_nonce);
  }
  absl::StatusOr<std::string> issued =
      sessions.Authenticate(request.device_id(), request.nonce(), request.signature(), &next_nonce);
  if (!issued.ok()) return issued.status();
  token = std::move(*issued);
  return sessions.Verify(token);
}

}  // namespace

absl::StatusOr<v1::AuthenticateResponse> SignIn(Core& core, const v1::AuthenticateRequest& request,
                                                std::optional<std::string>* wipe_order) {
  std::string token, next_nonce;
  absl::StatusOr<Session> session = Authenticated(core.sessions(), request, token, next_nonce);
  if (!session.ok()) {
    // PERMISSION_DENIED comes only after the device's own signature checked (see
    // SessionAuthority::Authenticate), so the wipe order goes to that device alone.
    if (session.status().code() == absl::StatusCode::kPermissionDenied && wipe_order != nullptr) {
      absl::StatusOr<std::optional<std::string>> order =
          core.registry().WipeOrder(request.device_id());
      if (order.ok()) *wipe_order = std::move(*order);
    }
    return session.status();
  }
  // Before anything this session uploads: its records are quarantined from the start.
  TEMOIN_RETURN_IF_ERROR(
      core.NoteDuressSignal(request.device_id(), request.nonce(), request.duress_signal()));
  v1::AuthenticateResponse response;
  if (request.has_settings()) {
    TEMOIN_ASSIGN_OR_RETURN(*response.mutable_settings(),
                            SettingsFor(core, *session, request.settings()));
  }
  if (!token.empty()) {
    response.set_token(std::move(token));
    response.set_expires_in_seconds(SessionAuthority::kSessionTtlSeconds);
  }
  response.set_next_nonce(std::move(next_nonce));
  return response;
}

// The caller's settings, leaving out what hashes to what the device says it holds: on
// 2G every byte of a no-op sync counts, and the vocabulary would be most of them.
absl::StatusOr<v1::GetSettingsResponse> SettingsFor(Core& core, const Session& session,
                                                    const v1::GetSettingsRequest& request) {
  absl::StatusOr<v1::GetSettingsResponse> settings = core.GetSettings(session);
  if (!settings.ok()) return settings;
  settings->set_attachment_closing(true);
  settings->set_commitment_batches(true);
  if (!request.vocabulary_hash().empty() &&
      SettingsHashNames(
          request.vocabulary_hash(),
          crypto::Hash256(kVocabularyHashContext, settings->vocabulary().SerializeAsString()))) {
    settings->clear_vocabulary();
    settings->set_vocabulary_unchanged(true);
  }
  if (!request.keys_hash().empty()) {
    v1::GetSettingsResponse keys;
    *keys.mutable_project_keys() = settings->project_keys();
    keys.set_bundle_public_key(settings->bundle_public_key());
    if (SettingsHashNames(request.keys_hash(),
                          crypto::Hash256(kSettingsKeysHashContext, keys.SerializeAsString()))) {
      settings->clear_project_keys();
      settings->clear_bundle_public_key();
      settings->set_keys_unchanged(true);
    }
  }
  if (settings->has_server_keys() && !request.server_keys_hash().empty() &&
      SettingsHashNames(
          request.server_keys_hash(),
          crypto::Hash256(crypto::kServerKeysHashContext, settings->server_keys().body()))) {
    settings->clear_server_keys();
  }
  if (request.has_log()) {
    // The device's log check, riding on the settings pull (sync.proto GetSettingsRequest).
    absl::StatusOr<v1::GetLogProofsResponse> log =
        core.GetLogProofs(session, request.log(), LogProofsVia::kSettings);
    if (!log.ok()) return log.status();
    if (request.log().checkpoint_only()) {
      // A no-op sync's check: the checkpoint alone, and only when the tree is not larger
      // than the device's (a rollback or a same-size fork shows there); otherwise nothing,
      // which costs a no-op sync 3 B down (sync.proto GetLogProofsRequest).
      std::string note = std::move(*log->mutable_checkpoint());
      log->Clear();
      if (CheckpointTreeSize(note) <= request.log().old_size()) log->set_checkpoint(note);
    }
    *settings->mutable_log() = std::move(*log);
  }
  return settings;
}

uint64_t CheckpointTreeSize(absl::string_view note) {
  std::vector<absl::string_view> lines = absl::StrSplit(note, absl::MaxSplits('\n', 2));
  uint64_t size = 0;
  if (lines.size() < 3 || !absl::SimpleAtoi(lines[1], &size)) return UINT64_MAX;
  return size;
}

}  // namespace temoin::server
