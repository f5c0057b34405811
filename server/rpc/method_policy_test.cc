// The method table is complete: every method of every temoin.v1 service has exactly
// one policy, and the table names no method that does not exist. Adding an RPC to a
// .proto without deciding who may call it fails here.

#include "server/rpc/method_policy.h"

#include <set>
#include <string>

#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "temoin/v1/admin.grpc.pb.h"
#include "temoin/v1/enrollment.grpc.pb.h"
#include "temoin/v1/review.grpc.pb.h"
#include "temoin/v1/sync.grpc.pb.h"

namespace temoin::server {
namespace {

// Every method of every service in the temoin.v1 files that define services, and of
// gRPC's health service (served by grpc++ itself, see GrpcServer).
std::set<std::string> ServedMethodPaths() {
  std::set<std::string> paths;
  for (const google::protobuf::FileDescriptor* file :
       {v1::EnrollRequest::descriptor()->file(), v1::CreateProjectRequest::descriptor()->file(),
        v1::UploadRequest::descriptor()->file(), v1::ListRecordsRequest::descriptor()->file(),
        grpc::health::v1::HealthCheckRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        paths.insert("/" + service->full_name() + "/" + service->method(m)->name());
      }
    }
  }
  return paths;
}

TEST(MethodPolicyTest, EveryServedMethodHasExactlyOnePolicy) {
  std::set<std::string> in_table;
  for (const MethodPolicy& p : AllMethodPolicies()) {
    EXPECT_TRUE(in_table.insert(std::string(p.path)).second) << "listed twice: " << p.path;
  }
  std::set<std::string> served = ServedMethodPaths();
  ASSERT_GE(served.size(), 20u);
  for (const std::string& path : served) {
    EXPECT_TRUE(in_table.count(path)) << path << " has no policy: decide who may call it";
  }
  for (const std::string& path : in_table) {
    EXPECT_TRUE(served.count(path)) << path << " is in the table but served by no service";
  }
}

TEST(MethodPolicyTest, StreamingFlagMatchesTheProto) {
  for (const std::string& path : ServedMethodPaths()) {
    std::string service = path.substr(1, path.rfind('/') - 1);
    std::string method = path.substr(path.rfind('/') + 1);
    const google::protobuf::MethodDescriptor* d = google::protobuf::DescriptorPool::generated_pool()
                                                      ->FindServiceByName(service)
                                                      ->FindMethodByName(method);
    ASSERT_NE(d, nullptr) << path;
    EXPECT_EQ(PolicyForPath(path)->streaming, d->client_streaming() || d->server_streaming())
        << path;
  }
}

TEST(MethodPolicyTest, OnlyEnrollmentAndTheHealthCheckAreOpenWithoutASession) {
  for (const MethodPolicy& p : AllMethodPolicies()) {
    bool open = std::string_view(p.path).starts_with("/temoin.v1.Enrollment/") ||
                p.path == "/grpc.health.v1.Health/Check";
    EXPECT_EQ(p.needs == CallerNeeds::kNothing, open) << p.path;
  }
}

TEST(MethodPolicyTest, HealthWatchIsOfferedToNoOne) {
  ASSERT_TRUE(PolicyForPath("/grpc.health.v1.Health/Watch").has_value());
  EXPECT_EQ(PolicyForPath("/grpc.health.v1.Health/Watch")->needs, CallerNeeds::kNobody);
  for (const MethodPolicy& p : AllMethodPolicies()) {
    if (std::string_view(p.path).starts_with("/temoin.v1.")) {
      EXPECT_NE(p.needs, CallerNeeds::kNobody) << p.path;
    }
  }
}

TEST(MethodPolicyTest, UnknownPathsHaveNoPolicy) {
  EXPECT_FALSE(PolicyForPath("/temoin.v1.Sync/Nope").has_value());
  EXPECT_FALSE(PolicyForPath("").has_value());
  EXPECT_FALSE(PolicyForPath("/temoin.v1.Enrollment/Enroll/").has_value());
  ASSERT_TRUE(PolicyForPath("/temoin.v1.Enrollment/Enroll").has_value());
}

}  // namespace
}  // namespace temoin::server
