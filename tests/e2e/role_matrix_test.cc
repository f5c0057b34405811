// Roles come from the authenticated context only. The real gRPC server runs in this
// process over loopback TLS on a MemoryStore core with a FakeClock; real stubs call every
// RPC as every role (admin, reviewer, monitor) of one project, naming their own and a
// foreign project, with no token, an expired token, a revoked device's token and forged
// tokens, then 10,000 seeded random cases. No foreign byte (record, device or project
// id, grant, audit entry) may ever come back.

#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "crypto/auth.h"
#include "crypto/envelope.h"
#include "crypto/project_keys.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "server/app/grpc_server.h"
#include "server/app/tls_certificate.h"
#include "server/storage/memory_store.h"

namespace temoin::server {
namespace {

template <typename T>
T Must(absl::StatusOr<T> v) {
  EXPECT_TRUE(v.ok()) << v.status();
  return std::move(*v);
}

struct Device {
  crypto::SigningKey sign = crypto::SigningKey::Generate();
  crypto::BoxKeyPair box = crypto::BoxKeyPair::Generate();
  std::string id, project, token;
  v1::Role role = v1::ROLE_UNSPECIFIED;
};

enum class TokenMode { kValid, kNone, kExpired, kRevoked, kForged, kTampered };

class RoleMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core_ =
        std::make_unique<Core>(&store_, &clock_, crypto::SigningKey::Generate(), v1::Vocabulary());
    v1::ServerConfig config;
    config.set_org_public_key(org_.public_key());
    WriteBatch batch;
    batch.Put(keys::Config(), config.SerializeAsString());
    ASSERT_TRUE(store_.Commit(batch).ok());
    Enrol(admin_, v1::ROLE_ADMIN, "");
    SignIn(admin_);
    for (const char* name : {"alpha", "beta"}) CreateProject(name);
    for (const char* name : {"alpha", "beta"}) {
      Enrol(monitors_[name], v1::ROLE_MONITOR, name);
      Enrol(reviewers_[name], v1::ROLE_REVIEWER, name);
      SignIn(monitors_[name]);
      Grant(reviewers_[name], name);
      Upload(monitors_[name], name, 3);
    }
    Enrol(revoked_, v1::ROLE_MONITOR, "alpha");
    SignIn(revoked_);
    revoked_token_ = revoked_.token;
    // An expired token: issued now, then the clock moves past its lifetime.
    expired_token_ = Token(reviewers_["alpha"]);
    clock_.Advance(SessionAuthority::kSessionTtlSeconds + 60);
    for (Device* d : {&admin_, &monitors_["alpha"], &monitors_["beta"], &reviewers_["alpha"],
                      &reviewers_["beta"], &revoked_}) {
      SignIn(*d);
    }
    revoked_token_ = revoked_.token;
    v1::RevokeDeviceRequest revoke;
    revoke.set_device_id(revoked_.id);
    v1::WipeOrderBody body;
    body.set_device_id(revoked_.id);
    revoke.mutable_wipe_order()->set_body(body.SerializeAsString());
    revoke.mutable_wipe_order()->set_org_signature(
        org_.Sign(kWipeOrderContext, revoke.wipe_order().body()));
    Must(core_->admin().RevokeDevice(AdminSession(), revoke));

    auto tls = Must(GenerateSelfSignedIdentity());
    // Thousands of calls a second from the same few devices: the per-device call rate
    // (tested in stream_flood_test) is lifted so that every answer here is about roles.
    ServerLimits limits;
    limits.calls.call_rate_per_device = 1e9;
    limits.calls.call_burst_per_device = 1e9;
    server_ = Must(GrpcServer::Start(core_.get(), tls, "127.0.0.1:0", limits));
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = tls.certificate_pem;
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("temoin-server");
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                             grpc::SslCredentials(ssl), args);
    enrollment_stub_ = v1::Enrollment::NewStub(channel);
    admin_stub_ = v1::Admin::NewStub(channel);
    sync_stub_ = v1::Sync::NewStub(channel);
    review_stub_ = v1::Review::NewStub(channel);
  }
  void TearDown() override { server_->Shutdown(); }

  Session AdminSession() { return Must(core_->sessions().Verify(admin_.token)); }

  void Enrol(Device& d, v1::Role role, const std::string& project) {
    auto invite = Must(core_->enrollment().CreateInvite(role, project, 0, false));
    v1::EnrollRequest req;
    req.set_token(invite.token());
    req.set_signing_public_key(d.sign.public_key());
    req.set_box_public_key(d.box.public_key());
    req.set_proof(d.sign.Sign(crypto::kEnrollContext,
                              crypto::EnrollProofMessage(req.token(), req.signing_public_key(),
                                                         req.box_public_key(), "")));
    d.id = Must(core_->enrollment().Enroll(req)).device_id();
    d.project = project;
    d.role = role;
    owner_of_[d.id] = project;
  }
  std::string Token(Device& d) {
    std::string nonce = Must(core_->sessions().IssueChallenge(d.id));
    return Must(core_->sessions().Authenticate(
        d.id, nonce, d.sign.Sign(crypto::kAuthContext, crypto::AuthChallengeMessage(nonce, d.id))));
  }
  void SignIn(Device& d) { d.token = Token(d); }

  void CreateProject(const std::string& name) {
    epoch_keys_.emplace(name, crypto::BoxKeyPair::Generate());
    v1::ProjectKeyBody body;
    body.set_project_id(crypto::RandomBytes(16));
    body.set_project_name(name);
    body.set_epoch(1);
    body.set_public_key(epoch_keys_.at(name).public_key());
    v1::CreateProjectRequest req;
    *req.mutable_key() = crypto::SignProjectKey(body, org_);
    req.set_admin_wrapped_secret(Must(crypto::WrapEpochSecret(
        epoch_keys_.at(name), body.project_id(), 1, admin_.box.public_key())));
    Must(core_->admin().CreateProject(AdminSession(), req));
    project_ids_[name] = body.project_id();
    owner_of_[body.project_id()] = name;
  }
  void Grant(Device& reviewer, const std::string& name) {
    v1::PutGrantRequest req;
    req.set_project(name);
    req.set_reviewer_device_id(reviewer.id);
    v1::EpochSecret* s = req.add_secrets();
    s->set_epoch(1);
    s->set_sealed(Must(crypto::WrapEpochSecret(epoch_keys_.at(name), project_ids_[name], 1,
                                               reviewer.box.public_key())));
    owner_of_[s->sealed()] = name;
    private_.insert(s->sealed());
    Must(core_->admin().PutGrant(AdminSession(), req));
  }
  void Upload(Device& monitor, const std::string& name, int n) {
    google::protobuf::RepeatedPtrField<v1::Envelope> envelopes;
    for (int i = 0; i < n; ++i) {
      crypto::SealParams params;
      params.device_seq = static_cast<uint64_t>(i + 1);
      params.project_id = project_ids_[name];
      params.device_id = monitor.id;
      params.recipients = {{epoch_keys_.at(name).public_key(), 1}};
      v1::Testimony testimony;
      testimony.set_narrative("synthetic");
      v1::Envelope env = Must(crypto::SealRecord(testimony, params, monitor.sign));
      v1::RecordHeader header;
      header.ParseFromString(env.header());
      owner_of_[header.record_id()] = name;
      private_.insert(header.record_id());
      records_[name].push_back(header.record_id());
      *envelopes.Add() = env;
    }
    auto results =
        Must(core_->ingest().UploadBatch(Must(core_->sessions().Verify(monitor.token)), envelopes));
    for (const auto& r : results) EXPECT_EQ(r.code(), 0) << r.message();
  }

  // Every byte string the caller must never see in a response.
  std::vector<std::string> Forbidden(const Device* caller) {
    std::vector<std::string> out;
    for (const auto& [bytes, project] : owner_of_) {
      bool entitled = caller != nullptr && caller->role == v1::ROLE_ADMIN;
      // A reviewer may see its project's records and grants; a monitor its project's
      // keys and device ids, but no record (not even its own) and no grant.
      if (caller != nullptr && project == caller->project &&
          (caller->role == v1::ROLE_REVIEWER || !private_.contains(bytes))) {
        entitled = true;
      }
      if (!entitled) out.push_back(bytes);
    }
    return out;
  }

  // Calls RPC number `rpc` with `token` (empty: none), naming `project` and ids from it.
  std::pair<grpc::Status, std::string> Call(int rpc, const std::string& token,
                                            const std::string& project, std::mt19937_64& rng) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    const std::vector<std::string>& ids = records_[project];
    std::string some_id = ids[rng() % ids.size()];
    std::string out;
    grpc::Status s;
    auto keep = [&](const google::protobuf::Message& m) { out += m.SerializeAsString(); };
    switch (rpc) {
      case 0: {
        v1::ListDevicesResponse r;
        s = admin_stub_->ListDevices(&ctx, {}, &r);
        keep(r);
        break;
      }
      case 1: {
        v1::GetProjectSecretsRequest q;
        q.set_project(project);
        v1::GetProjectSecretsResponse r;
        s = admin_stub_->GetProjectSecrets(&ctx, q, &r);
        keep(r);
        break;
      }
      case 2: {
        v1::ListGrantsRequest q;
        q.set_project(project);
        v1::ListGrantsResponse r;
        s = admin_stub_->ListGrants(&ctx, q, &r);
        keep(r);
        break;
      }
      case 3: {
        v1::GetAuditLogRequest q;
        v1::GetAuditLogResponse r;
        s = admin_stub_->GetAuditLog(&ctx, q, &r);
        keep(r);
        break;
      }
      case 4: {
        v1::GetSettingsResponse r;
        s = sync_stub_->GetSettings(&ctx, {}, &r);
        keep(r);
        break;
      }
      case 5: {
        v1::ListRecordsRequest q;
        v1::ListRecordsResponse r;
        s = review_stub_->ListRecords(&ctx, q, &r);
        keep(r);
        break;
      }
      case 6: {
        v1::FetchRecordsRequest q;
        q.add_record_ids(some_id);
        auto reader = review_stub_->FetchRecords(&ctx, q);
        v1::FetchedRecord r;
        while (reader->Read(&r)) keep(r);
        s = reader->Finish();
        break;
      }
      case 7: {
        v1::GetGrantsResponse r;
        s = review_stub_->GetGrants(&ctx, {}, &r);
        keep(r);
        break;
      }
      case 8: {
        v1::CreateInviteRequest q;
        q.set_role(v1::ROLE_REVIEWER);
        q.set_project(project);
        v1::CreateInviteResponse r;
        s = admin_stub_->CreateInvite(&ctx, q, &r);
        keep(r);
        break;
      }
      case 9: {
        auto stream = sync_stub_->Upload(&ctx);
        v1::UploadRequest q;
        q.set_batch_id(0);
        stream->Write(q);
        stream->WritesDone();
        v1::UploadResponse r;
        while (stream->Read(&r)) keep(r);
        s = stream->Finish();
        break;
      }
      // Mutating admin calls: only ever sent by non-admins (they must all be refused).
      case 10: {
        v1::RemoveGrantRequest q;
        q.set_project(project);
        q.set_reviewer_device_id(reviewers_[project].id);
        v1::RemoveGrantResponse r;
        s = admin_stub_->RemoveGrant(&ctx, q, &r);
        break;
      }
      case 11: {
        v1::RevokeDeviceRequest q;
        q.set_device_id(monitors_[project].id);
        v1::RevokeDeviceResponse r;
        s = admin_stub_->RevokeDevice(&ctx, q, &r);
        break;
      }
      case 12: {
        v1::PutGrantRequest q;
        q.set_project(project);
        q.set_reviewer_device_id(reviewers_[project].id);
        v1::PutGrantResponse r;
        s = admin_stub_->PutGrant(&ctx, q, &r);
        break;
      }
      case 13: {
        v1::RotateProjectKeyRequest q;
        v1::RotateProjectKeyResponse r;
        s = admin_stub_->RotateProjectKey(&ctx, q, &r);
        break;
      }
    }
    out += s.error_message();
    return {s, out};
  }
  static constexpr int kReadRpcs = 10;
  static constexpr int kRpcs = 14;

  std::string TokenFor(TokenMode mode, const Device& d, std::mt19937_64& rng) {
    switch (mode) {
      case TokenMode::kValid:
        return d.token;
      case TokenMode::kNone:
        return "";
      case TokenMode::kExpired:
        return expired_token_;
      case TokenMode::kRevoked:
        return revoked_token_;
      case TokenMode::kForged:
        return ToBase64Url(crypto::RandomBytes(64));
      case TokenMode::kTampered: {
        std::string raw = Must(FromBase64Url(d.token, "token"));
        raw[rng() % raw.size()] ^= static_cast<char>(1 + rng() % 255);
        return ToBase64Url(raw);
      }
    }
    return "";
  }

  void CheckCase(int rpc, const Device* caller, TokenMode mode, const std::string& project,
                 std::mt19937_64& rng, const std::string& label) {
    std::string token = caller ? TokenFor(mode, *caller, rng) : TokenFor(mode, admin_, rng);
    auto [status, bytes] = Call(rpc, token, project, rng);
    const Device* effective = mode == TokenMode::kValid ? caller : nullptr;
    if (mode != TokenMode::kValid) {
      EXPECT_FALSE(status.ok()) << label;
      EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                  status.error_code() == grpc::StatusCode::PERMISSION_DENIED)
          << label << " " << status.error_code();
    }
    if (rpc >= kReadRpcs && (caller == nullptr || caller->role != v1::ROLE_ADMIN)) {
      EXPECT_FALSE(status.ok()) << label;
    }
    // Not vacuous: an entitled reviewer does get its own project's record.
    if (rpc == 6 && effective != nullptr && effective->role == v1::ROLE_REVIEWER &&
        effective->project == project) {
      EXPECT_TRUE(status.ok()) << label << " " << status.error_message();
    }
    for (const std::string& needle : Forbidden(effective)) {
      ASSERT_EQ(bytes.find(needle), std::string::npos)
          << label << ": a foreign byte string came back (" << owner_of_[needle] << ")";
    }
  }

  FakeClock clock_{1'800'000'000};
  MemoryStore store_;
  std::unique_ptr<Core> core_;
  crypto::SigningKey org_ = crypto::SigningKey::Generate();
  Device admin_, revoked_;
  std::map<std::string, Device> monitors_, reviewers_;
  std::map<std::string, crypto::BoxKeyPair> epoch_keys_;
  std::map<std::string, std::string> project_ids_;
  std::map<std::string, std::string> owner_of_;  // id or grant bytes -> project
  std::set<std::string> private_;                // record ids and grants
  std::map<std::string, std::vector<std::string>> records_;
  std::string expired_token_, revoked_token_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<v1::Enrollment::Stub> enrollment_stub_;
  std::unique_ptr<v1::Admin::Stub> admin_stub_;
  std::unique_ptr<v1::Sync::Stub> sync_stub_;
  std::unique_ptr<v1::Review::Stub> review_stub_;
};

TEST_F(RoleMatrixTest, RevokedSessionIsRefusedOnItsNextCall) {
  // The token was valid before revocation; the check re-reads the device every call.
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", revoked_token_));
  v1::GetSettingsResponse r;
  grpc::Status s = sync_stub_->GetSettings(&ctx, {}, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "device has been revoked");
}

// AuthenticateRequest.no_session over the wire: checked like any sign-in, answered with
// settings and the next nonce, but with no token, and nothing in the answer opens a call.
TEST_F(RoleMatrixTest, NoSessionSignInAuthorisesNoCall) {
  Device& monitor = monitors_["alpha"];
  auto authenticate = [&](const Device& d, const std::string& nonce, const std::string& signature,
                          v1::AuthenticateResponse& response, grpc::ClientContext& ctx) {
    v1::AuthenticateRequest request;
    request.set_device_id(d.id);
    request.set_nonce(nonce);
    request.set_signature(signature);
    request.mutable_settings();
    request.set_no_session(true);
    return enrollment_stub_->Authenticate(&ctx, request, &response);
  };
  auto sign = [](const Device& d, const std::string& nonce) {
    return d.sign.Sign(crypto::kAuthContext, crypto::AuthChallengeMessage(nonce, d.id));
  };
  {  // Another device's key over the monitor's challenge: refused.
    std::string nonce = Must(core_->sessions().IssueChallenge(monitor.id));
    grpc::ClientContext ctx;
    v1::AuthenticateResponse response;
    grpc::Status s = authenticate(monitor, nonce, sign(reviewers_["alpha"], nonce), response, ctx);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_TRUE(response.token().empty());
    EXPECT_TRUE(response.next_nonce().empty());
  }
  {  // A revoked device: refused, with its wipe order, as without no_session.
    std::string nonce = Must(core_->sessions().IssueChallenge(revoked_.id));
    grpc::ClientContext ctx;
    v1::AuthenticateResponse response;
    grpc::Status s = authenticate(revoked_, nonce, sign(revoked_, nonce), response, ctx);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(ctx.GetServerTrailingMetadata().count("temoin-wipe-order-bin"), 1u);
  }
  std::string nonce = Must(core_->sessions().IssueChallenge(monitor.id));
  grpc::ClientContext ctx;
  v1::AuthenticateResponse response;
  grpc::Status s = authenticate(monitor, nonce, sign(monitor, nonce), response, ctx);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(response.token().empty());
  EXPECT_EQ(response.expires_in_seconds(), 0);
  EXPECT_TRUE(response.has_settings());
  EXPECT_EQ(response.next_nonce().size(), 16u);
  // Whatever the answer holds, presented as a token, opens no call.
  std::mt19937_64 rng(7);
  for (const std::string& token : {std::string(), ToBase64Url(response.next_nonce()),
                                   ToBase64Url(response.SerializeAsString())}) {
    for (int rpc = 0; rpc < kRpcs; ++rpc) {
      auto [status, out] = Call(rpc, token, "alpha", rng);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << "rpc " << rpc;
    }
  }
  // Its next nonce signs in once, with a session when asked for one.
  v1::AuthenticateRequest with_session;
  with_session.set_device_id(monitor.id);
  with_session.set_nonce(response.next_nonce());
  with_session.set_signature(sign(monitor, response.next_nonce()));
  grpc::ClientContext again_ctx;
  v1::AuthenticateResponse again;
  ASSERT_TRUE(enrollment_stub_->Authenticate(&again_ctx, with_session, &again).ok());
  EXPECT_TRUE(core_->sessions().Verify(again.token()).ok());
}

TEST_F(RoleMatrixTest, EveryRpcEveryRoleEveryTokenNoForeignByte) {
  std::mt19937_64 rng(1);
  std::vector<std::pair<std::string, const Device*>> callers = {
      {"admin", &admin_}, {"reviewer", &reviewers_["alpha"]}, {"monitor", &monitors_["alpha"]}};
  for (int rpc = 0; rpc < kRpcs; ++rpc) {
    for (const auto& [role, caller] : callers) {
      for (const char* project : {"alpha", "beta"}) {
        for (TokenMode mode : {TokenMode::kValid, TokenMode::kNone, TokenMode::kExpired,
                               TokenMode::kRevoked, TokenMode::kForged, TokenMode::kTampered}) {
          if (rpc >= kReadRpcs && caller == &admin_ && mode == TokenMode::kValid) continue;
          CheckCase(rpc, caller, mode, project, rng,
                    absl::StrCat("rpc ", rpc, " as ", role, " on ", project, " mode ",
                                 static_cast<int>(mode)));
        }
      }
    }
  }
}

TEST_F(RoleMatrixTest, TenThousandRandomCases) {
  uint64_t seed = std::random_device()();
  std::cerr << "role matrix random seed: " << seed << "\n";
  std::mt19937_64 rng(seed);
  std::vector<const Device*> callers = {&admin_, &reviewers_["alpha"], &reviewers_["beta"],
                                        &monitors_["alpha"], &monitors_["beta"]};
  for (int i = 0; i < 10000; ++i) {
    const Device* caller = callers[rng() % callers.size()];
    int rpc = static_cast<int>(rng() % kRpcs);
    TokenMode mode = static_cast<TokenMode>(rng() % 6);
    if (rpc >= kReadRpcs && caller == &admin_ && mode == TokenMode::kValid) continue;
    const char* project = rng() % 2 ? "alpha" : "beta";
    CheckCase(rpc, caller, mode, project, rng, absl::StrCat("case ", i, " seed ", seed));
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace temoin::server
