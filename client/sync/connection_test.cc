#include "client/sync/connection.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace temoin::client {
namespace {

// A call the server cancelled as it shut down (a restart, a TLS key switch) must read as
// a link gone, which `sync --watch` and `--until-done` retry, not as a reason to stop.
TEST(FromGrpcTest, ACallTheServerCancelledIsWorthTryingAgain) {
  absl::Status s = FromGrpc(grpc::Status(grpc::StatusCode::CANCELLED, "CANCELLED"), "host:1");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "restarting")) << s;
}

TEST(FromGrpcTest, TheServersOwnRefusalsKeepTheirCodeAndWords) {
  absl::Status s =
      FromGrpc(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "device revoked"), "host:1");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "device revoked");
  EXPECT_TRUE(FromGrpc(grpc::Status::OK, "host:1").ok());
}

}  // namespace
}  // namespace temoin::client
