#include "crypto/project_keys.h"

#include <cstring>

#include "common/status_macros.h"
#include "crypto/bytes.h"
#include "crypto/envelope.h"

namespace temoin::crypto {
namespace {

constexpr absl::string_view kProjectKeyContext = "temoin/project-key/v1";
constexpr size_t kMaxProjectKeyBodyBytes = 4096;  // a name and three short fields
constexpr size_t kEpochBytes = 4;
constexpr size_t kWrappedSecretBytes = kBoxSecretKeyBytes + kProjectIdBytes + kEpochBytes;

std::string EpochBigEndian(uint32_t epoch) {
  std::string out;
  internal::AppendU32BigEndian(out, epoch);
  return out;
}

}  // namespace

v1::SignedProjectKey SignProjectKey(const v1::ProjectKeyBody& body, const SigningKey& org_key) {
  v1::SignedProjectKey signed_key;
  signed_key.set_body(body.SerializeAsString());  // signed as these bytes, never re-serialized
  signed_key.set_org_signature(org_key.Sign(kProjectKeyContext, signed_key.body()));
  return signed_key;
}

absl::StatusOr<v1::ProjectKeyBody> VerifyProjectKey(const v1::SignedProjectKey& signed_key,
                                                    absl::string_view org_public_key) {
  if (signed_key.body().size() > kMaxProjectKeyBodyBytes) {
    return absl::InvalidArgumentError("project key body too large");
  }
  if (!VerifySignature(org_public_key, kProjectKeyContext, signed_key.body(),
                       signed_key.org_signature())
           .ok()) {
    return absl::UnauthenticatedError("project key signature verification failed");
  }
  v1::ProjectKeyBody body;
  if (!body.ParseFromString(signed_key.body())) {
    return absl::InvalidArgumentError("project key body does not parse");
  }
  if (body.project_id().size() != kProjectIdBytes) {
    return absl::InvalidArgumentError("project key project_id has wrong length");
  }
  if (body.public_key().size() != kBoxPublicKeyBytes) {
    return absl::InvalidArgumentError("project key public_key has wrong length");
  }
  return body;
}

absl::StatusOr<std::string> WrapEpochSecret(const BoxKeyPair& epoch_key,
                                            absl::string_view project_id, uint32_t epoch,
                                            absl::string_view reviewer_box_public_key) {
  if (project_id.size() != kProjectIdBytes) {
    return absl::InvalidArgumentError("project_id has wrong length");
  }
  // The project and epoch ride inside the box (sealed boxes take no associated data), so
  // a grant cannot be replayed as the key of another project or epoch.
  SecretBuffer plaintext = SecretBuffer::Allocate(kWrappedSecretBytes);
  std::memcpy(plaintext.data(), epoch_key.secret_key().data(), kBoxSecretKeyBytes);
  std::memcpy(plaintext.data() + kBoxSecretKeyBytes, project_id.data(), kProjectIdBytes);
  const std::string epoch_bytes = EpochBigEndian(epoch);
  std::memcpy(plaintext.data() + kBoxSecretKeyBytes + kProjectIdBytes, epoch_bytes.data(),
              kEpochBytes);
  return SealToPublicKey(plaintext.ExposeSecret(), reviewer_box_public_key);
}

absl::StatusOr<BoxKeyPair> UnwrapEpochSecret(absl::string_view sealed, const BoxKeyPair& reviewer,
                                             absl::string_view project_id, uint32_t epoch,
                                             absl::string_view expected_public_key) {
  const absl::Status failed = absl::UnauthenticatedError("epoch secret verification failed");
  TEMOIN_ASSIGN_OR_RETURN(SecretBuffer plaintext, OpenSealed(sealed, reviewer));
  if (plaintext.size() != kWrappedSecretBytes) return failed;
  const absl::string_view bytes = plaintext.ExposeSecret();
  const bool names_grant =
      internal::ConstantTimeEquals(bytes.substr(kBoxSecretKeyBytes, kProjectIdBytes), project_id) &&
      internal::ConstantTimeEquals(bytes.substr(kBoxSecretKeyBytes + kProjectIdBytes),
                                   EpochBigEndian(epoch));
  if (!names_grant) return failed;
  absl::StatusOr<BoxKeyPair> key = BoxKeyPair::FromSecretKey(bytes.substr(0, kBoxSecretKeyBytes));
  // The public key comes from the org-signed ProjectKeyBody: a grant whose secret does not
  // match it was not made for that signed key.
  if (!key.ok() || !internal::ConstantTimeEquals(key->public_key(), expected_public_key)) {
    return failed;
  }
  return key;
}

}  // namespace temoin::crypto
