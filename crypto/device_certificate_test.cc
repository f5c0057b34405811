#include "crypto/device_certificate.h"

#include <gtest/gtest.h>

#include "crypto/auth.h"
#include "crypto/envelope.h"

namespace temoin::crypto {
namespace {

struct Chain {
  SigningKey org = SigningKey::Generate();
  SigningKey invite = SigningKey::Generate();
  SigningKey device = SigningKey::Generate();
  BoxKeyPair box = BoxKeyPair::Generate();

  v1::InviteAuthorisation Authorisation(const SigningKey& signer) const {
    v1::InviteAuthorisationBody body;
    body.set_role(v1::ROLE_MONITOR);
    body.set_project("gao-2026");
    body.set_project_id(std::string(kProjectIdBytes, 'p'));
    body.set_expires_at(1'800'000'000);
    body.set_invite_public_key(invite.public_key());
    body.set_token_hash(InviteTokenHash("0123456789abcdef"));
    return SignInviteAuthorisation(body, signer);
  }
  v1::DeviceCertificate Certificate() const {
    return IssueDeviceCertificate(Authorisation(org), invite, device, box.public_key());
  }
};

TEST(DeviceCertificateTest, ChainFromOrgThroughInviteVerifies) {
  Chain chain;
  absl::StatusOr<CertifiedDevice> device =
      VerifyDeviceCertificate(chain.Certificate(), chain.org.public_key());
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->device_id, DeviceIdFromKeys(chain.device.public_key(), chain.box.public_key()));
  EXPECT_EQ(device->role, v1::ROLE_MONITOR);
  EXPECT_EQ(device->project, "gao-2026");
}

TEST(DeviceCertificateTest, AuthorisationSignedByAnotherKeyIsRefused) {
  Chain chain;
  SigningKey server_made = SigningKey::Generate();
  v1::DeviceCertificate certificate = IssueDeviceCertificate(
      chain.Authorisation(server_made), chain.invite, chain.device, chain.box.public_key());
  EXPECT_EQ(VerifyDeviceCertificate(certificate, chain.org.public_key()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(DeviceCertificateTest, CertificateNotSignedByTheInviteKeyIsRefused) {
  Chain chain;
  SigningKey other_invite = SigningKey::Generate();
  v1::DeviceCertificate certificate = IssueDeviceCertificate(
      chain.Authorisation(chain.org), other_invite, chain.device, chain.box.public_key());
  EXPECT_EQ(VerifyDeviceCertificate(certificate, chain.org.public_key()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(DeviceCertificateTest, SwappedBoxKeyIsRefused) {
  Chain chain;
  v1::DeviceCertificate certificate = chain.Certificate();
  v1::DeviceCertificateBody body;
  ASSERT_TRUE(body.ParseFromString(certificate.body()));
  body.set_box_public_key(BoxKeyPair::Generate().public_key());
  certificate.set_body(body.SerializeAsString());
  EXPECT_EQ(VerifyDeviceCertificate(certificate, chain.org.public_key()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(DeviceCertificateTest, EmptyCertificateIsRefused) {
  Chain chain;
  EXPECT_EQ(
      VerifyDeviceCertificate(v1::DeviceCertificate(), chain.org.public_key()).status().code(),
      absl::StatusCode::kUnauthenticated);
}

TEST(GrantRecordTest, SignedRecordVerifiesAndATamperedOneDoesNot) {
  Chain chain;
  v1::GrantRecordBody body;
  body.set_project("gao-2026");
  body.set_reviewer_device_id(DeviceIdFromKeys(chain.device.public_key(), chain.box.public_key()));
  body.set_signing_public_key(chain.device.public_key());
  body.set_box_public_key(chain.box.public_key());
  v1::GrantRecord record = SignGrantRecord(body, chain.org);
  EXPECT_TRUE(VerifyGrantRecord(record, chain.org.public_key()).ok());
  record.mutable_body()->back() ^= 1;
  EXPECT_FALSE(VerifyGrantRecord(record, chain.org.public_key()).ok());
}

}  // namespace
}  // namespace temoin::crypto
