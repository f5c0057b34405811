#include "crypto/device_certificate.h"

#include "common/status_macros.h"
#include "crypto/auth.h"
#include "crypto/envelope.h"

namespace temoin::crypto {
namespace {

constexpr size_t kMaxSignedBodyBytes = 4096;  // keys, ids and a project name

bool HasSigningKeySize(absl::string_view key) { return key.size() == kSigningPublicKeyBytes; }

}  // namespace

std::string InviteTokenHash(absl::string_view token) {
  return Hash256("temoin/invite-token/v1", token).substr(0, 16);
}

v1::InviteAuthorisation SignInviteAuthorisation(const v1::InviteAuthorisationBody& body,
                                                const SigningKey& org_key) {
  v1::InviteAuthorisation out;
  out.set_body(body.SerializeAsString());
  out.set_org_signature(org_key.Sign(kInviteAuthContext, out.body()));
  return out;
}

absl::StatusOr<v1::InviteAuthorisationBody> VerifyInviteAuthorisation(
    const v1::InviteAuthorisation& authorisation, absl::string_view org_public_key) {
  if (authorisation.body().size() > kMaxSignedBodyBytes) {
    return absl::InvalidArgumentError("invite authorisation too large");
  }
  if (!VerifySignature(org_public_key, kInviteAuthContext, authorisation.body(),
                       authorisation.org_signature())
           .ok()) {
    return absl::UnauthenticatedError("invite authorisation verification failed");
  }
  v1::InviteAuthorisationBody body;
  if (!body.ParseFromString(authorisation.body()) || !HasSigningKeySize(body.invite_public_key())) {
    return absl::InvalidArgumentError("invite authorisation is malformed");
  }
  return body;
}

v1::DeviceCertificate IssueDeviceCertificate(const v1::InviteAuthorisation& authorisation,
                                             const SigningKey& invite_key,
                                             const SigningKey& device_key,
                                             absl::string_view box_public_key) {
  v1::DeviceCertificateBody body;
  body.set_device_id(DeviceIdFromKeys(device_key.public_key(), box_public_key));
  body.set_signing_public_key(device_key.public_key());
  body.set_box_public_key(std::string(box_public_key));
  *body.mutable_authorisation() = authorisation;
  v1::DeviceCertificate certificate;
  certificate.set_body(body.SerializeAsString());
  certificate.set_invite_signature(invite_key.Sign(kDeviceCertContext, certificate.body()));
  certificate.set_device_signature(device_key.Sign(kDeviceCertContext, certificate.body()));
  return certificate;
}

absl::StatusOr<CertifiedDevice> VerifyDeviceCertificate(const v1::DeviceCertificate& certificate,
                                                        absl::string_view org_public_key) {
  const absl::Status failed = absl::UnauthenticatedError("device certificate verification failed");
  if (certificate.body().empty()) return failed;
  if (certificate.body().size() > 2 * kMaxSignedBodyBytes) {
    return absl::InvalidArgumentError("device certificate too large");
  }
  v1::DeviceCertificateBody body;
  if (!body.ParseFromString(certificate.body())) {
    return absl::InvalidArgumentError("device certificate does not parse");
  }
  absl::StatusOr<v1::InviteAuthorisationBody> auth =
      VerifyInviteAuthorisation(body.authorisation(), org_public_key);
  if (!auth.ok()) return failed;
  if (!HasSigningKeySize(body.signing_public_key()) ||
      body.box_public_key().size() != kBoxPublicKeyBytes ||
      DeviceIdFromKeys(body.signing_public_key(), body.box_public_key()) != body.device_id()) {
    return failed;
  }
  // The invite key proves the organisation allowed this enrolment; the device's own
  // signature proves the keys are held by whoever used the invite.
  if (!VerifySignature(auth->invite_public_key(), kDeviceCertContext, certificate.body(),
                       certificate.invite_signature())
           .ok() ||
      !VerifySignature(body.signing_public_key(), kDeviceCertContext, certificate.body(),
                       certificate.device_signature())
           .ok()) {
    return failed;
  }
  CertifiedDevice out;
  out.device_id = body.device_id();
  out.signing_public_key = body.signing_public_key();
  out.box_public_key = body.box_public_key();
  out.role = auth->role();
  out.project = auth->project();
  out.project_id = auth->project_id();
  out.invite_expires_at = auth->expires_at();
  return out;
}

v1::GrantRecord SignGrantRecord(const v1::GrantRecordBody& body, const SigningKey& org_key) {
  v1::GrantRecord out;
  out.set_body(body.SerializeAsString());
  out.set_org_signature(org_key.Sign(kGrantRecordContext, out.body()));
  return out;
}

absl::StatusOr<v1::GrantRecordBody> VerifyGrantRecord(const v1::GrantRecord& record,
                                                      absl::string_view org_public_key) {
  if (!VerifySignature(org_public_key, kGrantRecordContext, record.body(), record.org_signature())
           .ok()) {
    return absl::UnauthenticatedError("grant record verification failed");
  }
  v1::GrantRecordBody body;
  if (!body.ParseFromString(record.body()) || body.reviewer_device_id().size() != kDeviceIdBytes ||
      DeviceIdFromKeys(body.signing_public_key(), body.box_public_key()) !=
          body.reviewer_device_id()) {
    return absl::InvalidArgumentError("grant record is malformed");
  }
  return body;
}

}  // namespace temoin::crypto
