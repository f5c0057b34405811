#ifndef TEMOIN_SERVER_CORE_SIGN_IN_H_
#define TEMOIN_SERVER_CORE_SIGN_IN_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/core/core.h"
#include "server/core/session.h"
#include "temoin/v1/enrollment.pb.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::server {

// A device's sign-in, however it arrives: as Enrollment.Authenticate, or in the
// "temoin-sign-in-bin" metadata of an Upload call opened without a session token (the
// sign-in then costs no call of its own, sync.proto UploadResponse.sign_in). The same
// checks and effects either way: the signature over the nonce, the nonce consumed and
// the next one issued, revocation, the duress signal noted before anything the
// session uploads, and the settings (with the log check) when asked. A token is issued
// unless the request has no_session.
// All input untrusted. Errors as SessionAuthority::Authenticate's; a revoked device that
// signed correctly gets kPermissionDenied and, when its admin left one, its serialised
// WipeOrder in `*wipe_order` (for the RPC layer's trailers: that device alone sees it).
absl::StatusOr<v1::AuthenticateResponse> SignIn(Core& core, const v1::AuthenticateRequest& request,
                                                std::optional<std::string>* wipe_order);

// The caller's settings, leaving out what hashes to what the device says it holds
// (vocabulary, keys, server keys), and the log check that rides on them
// (GetSettingsRequest.log): as Sync.GetSettings answers, and as rides on sign-in.
absl::StatusOr<v1::GetSettingsResponse> SettingsFor(Core& core, const Session& session,
                                                    const v1::GetSettingsRequest& request);

// The tree size on a checkpoint note's second line (the note is our own log's);
// UINT64_MAX for a note that does not say one.
uint64_t CheckpointTreeSize(absl::string_view note);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_SIGN_IN_H_
