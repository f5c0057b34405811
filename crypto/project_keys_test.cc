#include "crypto/project_keys.h"

#include <gtest/gtest.h>

#include "crypto/test_util.h"

namespace temoin::crypto {
namespace {

using ::absl::StatusCode;
using test::Filled;

class ProjectKeysTest : public ::testing::Test {
 protected:
  v1::ProjectKeyBody Body() const {
    v1::ProjectKeyBody body;
    body.set_project_id(project_id_);
    body.set_project_name("demo-project");
    body.set_epoch(3);
    body.set_public_key(epoch_key_.public_key());
    return body;
  }

  SigningKey org_ = SigningKey::Generate();
  BoxKeyPair epoch_key_ = BoxKeyPair::Generate();
  BoxKeyPair reviewer_ = BoxKeyPair::Generate();
  const std::string project_id_ = Filled(16, 'p');
};

TEST_F(ProjectKeysTest, SignedProjectKeyVerifies) {
  absl::StatusOr<v1::ProjectKeyBody> body =
      VerifyProjectKey(SignProjectKey(Body(), org_), org_.public_key());
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->public_key(), epoch_key_.public_key());
  EXPECT_EQ(body->epoch(), 3u);
}

TEST_F(ProjectKeysTest, ProjectKeySignedByAnotherOrgKeyIsRejected) {
  v1::SignedProjectKey swapped = SignProjectKey(Body(), SigningKey::Generate());
  absl::Status status = VerifyProjectKey(swapped, org_.public_key()).status();
  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "project key signature verification failed");
}

TEST_F(ProjectKeysTest, TamperedProjectKeyIsRejected) {
  v1::SignedProjectKey signed_key = SignProjectKey(Body(), org_);
  (*signed_key.mutable_body())[5] ^= 1;
  EXPECT_EQ(VerifyProjectKey(signed_key, org_.public_key()).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(ProjectKeysTest, SignedButMalformedBodyIsInvalid) {
  v1::ProjectKeyBody body = Body();
  body.set_public_key("short");
  EXPECT_EQ(VerifyProjectKey(SignProjectKey(body, org_), org_.public_key()).status().code(),
            StatusCode::kInvalidArgument);
  body = Body();
  body.set_project_id("short");
  EXPECT_EQ(VerifyProjectKey(SignProjectKey(body, org_), org_.public_key()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ProjectKeysTest, EpochSecretRoundTripsToTheReviewer) {
  absl::StatusOr<std::string> grant =
      WrapEpochSecret(epoch_key_, project_id_, 3, reviewer_.public_key());
  ASSERT_TRUE(grant.ok()) << grant.status();
  absl::StatusOr<BoxKeyPair> unwrapped =
      UnwrapEpochSecret(*grant, reviewer_, project_id_, 3, epoch_key_.public_key());
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_EQ(unwrapped->public_key(), epoch_key_.public_key());
  EXPECT_TRUE(unwrapped->secret_key().Equals(epoch_key_.secret_key()));
}

TEST_F(ProjectKeysTest, EpochSecretWithMismatchedProjectEpochOrKeyIsRejected) {
  absl::StatusOr<std::string> grant =
      WrapEpochSecret(epoch_key_, project_id_, 3, reviewer_.public_key());
  ASSERT_TRUE(grant.ok());
  const std::string pk = epoch_key_.public_key();
  EXPECT_EQ(UnwrapEpochSecret(*grant, reviewer_, Filled(16, 'q'), 3, pk).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(UnwrapEpochSecret(*grant, reviewer_, project_id_, 4, pk).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(
      UnwrapEpochSecret(*grant, reviewer_, project_id_, 3, BoxKeyPair::Generate().public_key())
          .status()
          .code(),
      StatusCode::kUnauthenticated);
  EXPECT_EQ(UnwrapEpochSecret(*grant, BoxKeyPair::Generate(), project_id_, 3, pk).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(ProjectKeysTest, WrapRejectsBadSizes) {
  EXPECT_EQ(WrapEpochSecret(epoch_key_, "short", 3, reviewer_.public_key()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(WrapEpochSecret(epoch_key_, project_id_, 3, "short").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace temoin::crypto
