// gRPC's standard health service on the real server over loopback TLS: a probe with no
// session gets an answer, the answer follows whether the store takes durable writes,
// stopping reports NOT_SERVING, and Watch is refused to everyone.

#include "server/app/health.h"

#include <atomic>
#include <mutex>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "server/app/grpc_server.h"
#include "server/app/tls_certificate.h"
#include "server/storage/memory_store.h"

namespace temoin::server {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// A MemoryStore whose commits fail while `full` is set, as a full disk's would.
class FillableStore final : public Store {
 public:
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) override {
    return inner_.Get(key);
  }
  absl::Status Commit(const WriteBatch& batch) override {
    if (full.load()) return absl::ResourceExhaustedError("disk full");
    return inner_.Commit(batch);
  }
  absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) override {
    return inner_.Scan(prefix, start_after, visit);
  }
  // Through this store's own Commit, so that a full disk refuses log appends too.
  absl::StatusOr<uint64_t> AppendToLog(const LogAppendBuilder& build) override {
    return AppendToLogInProcess(*this, log_mu_, build);
  }
  std::atomic<bool> full{false};

 private:
  MemoryStore inner_;
  std::mutex log_mu_;
};

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core_ = std::make_unique<Core>(&store_, &SystemClock::Get(), crypto::SigningKey::Generate(),
                                   v1::Vocabulary());
    absl::StatusOr<TlsIdentity> tls = GenerateSelfSignedIdentity();
    ASSERT_TRUE(tls.ok()) << tls.status();
    absl::StatusOr<std::unique_ptr<GrpcServer>> server =
        GrpcServer::Start(core_.get(), *tls, "127.0.0.1:0");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = tls->certificate_pem;
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("temoin-server");
    stub_ = grpc::health::v1::Health::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::SslCredentials(ssl), args));
  }
  void TearDown() override { server_->Shutdown(); }

  // The answer to a Check with no session (no "authorization" header at all).
  HealthCheckResponse::ServingStatus Check() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    HealthCheckResponse response;
    grpc::Status status = stub_->Check(&context, HealthCheckRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    return response.status();
  }

  // Polls until Check answers `want` (the reporter's thread sets it): at most 10 s.
  bool Becomes(HealthCheckResponse::ServingStatus want) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      if (Check() == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  FillableStore store_;
  std::unique_ptr<Core> core_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
};

TEST_F(HealthTest, NotServingUntilTheStoreIsProvenWritable) {
  EXPECT_EQ(Check(), HealthCheckResponse::NOT_SERVING);
  HealthReporter reporter(
      &store_, [this](bool serving) { server_->SetServing(serving); },
      std::chrono::milliseconds(20));
  EXPECT_TRUE(Becomes(HealthCheckResponse::SERVING));
}

TEST_F(HealthTest, FollowsTheStoreAndStopsServingOnStop) {
  store_.full = true;
  HealthReporter reporter(
      &store_, [this](bool serving) { server_->SetServing(serving); },
      std::chrono::milliseconds(20));
  EXPECT_TRUE(Becomes(HealthCheckResponse::NOT_SERVING));
  store_.full = false;
  EXPECT_TRUE(Becomes(HealthCheckResponse::SERVING));
  store_.full = true;
  EXPECT_TRUE(Becomes(HealthCheckResponse::NOT_SERVING));
  store_.full = false;
  EXPECT_TRUE(Becomes(HealthCheckResponse::SERVING));
  reporter.Stop();
  EXPECT_EQ(Check(), HealthCheckResponse::NOT_SERVING);
}

TEST_F(HealthTest, WatchIsRefusedEvenWithAToken) {
  for (bool with_token : {false, true}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (with_token) context.AddMetadata("authorization", "Bearer not-a-real-token");
    std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader =
        stub_->Watch(&context, HealthCheckRequest());
    HealthCheckResponse response;
    EXPECT_FALSE(reader->Read(&response));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
}

TEST(HealthProbeTest, ProbeWritesNoData) {
  MemoryStore store;
  ASSERT_TRUE(ProbeStoreWritable(store).ok());
  int keys = 0;
  ASSERT_TRUE(store
                  .Scan("", "",
                        [&keys](absl::string_view, absl::string_view) {
                          ++keys;
                          return true;
                        })
                  .ok());
  EXPECT_EQ(keys, 0);
}

}  // namespace
}  // namespace temoin::server
