// Protocol core tests: enrolment, sessions, projects and grants, ingest, review.
//
// Every protocol test runs twice, on MemoryStore and on RocksStore in a temporary
// directory (DESIGN.md, STYLE.md "Layout and targets"). The device side of each step is
// built by FakeDevice the way client/sync/enroll.cc and client/sync/admin_client.cc
// build it. Synthetic data only: no real person's name appears here.

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/vocabulary.h"
#include "crypto/attachment_stream.h"
#include "crypto/auth.h"
#include "crypto/checkpoint.h"
#include "crypto/commitment_batch.h"
#include "crypto/device_certificate.h"
#include "crypto/envelope.h"
#include "crypto/keys.h"
#include "crypto/merkle.h"
#include "crypto/project_keys.h"
#include "crypto/receipt.h"
#include "crypto/server_keys.h"
#include "crypto/sodium_init.h"
#include "server/core/core.h"
#include "server/core/sync_keys.h"
#include "server/core/testing/counting_metrics.h"
#include "server/core/testing/fake_device.h"
#include "server/core/upload_stream.h"
#include "server/storage/memory_store.h"
#include "server/storage/rocks_store.h"
#include "temoin/v1/testimony.pb.h"

namespace temoin::server {
namespace {

using ::temoin::server::testing::FakeDevice;
using ::temoin::server::testing::Must;

using ::absl::StatusCode;

constexpr int64_t kStartTime = 1'780'000'000;
constexpr absl::string_view kBadCode = "enrolment code is not valid";
constexpr absl::string_view kAuthFailed = "authentication failed";
constexpr absl::string_view kBadToken = "session token is not valid";
constexpr absl::string_view kRevoked = "device has been revoked";
constexpr absl::string_view kNotGranted =
    "record not found among the projects granted to this device";

class CryptoEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(crypto::InitializeCrypto().ok()); }
};
::testing::Environment* const kCryptoEnvironment =
    ::testing::AddGlobalTestEnvironment(new CryptoEnvironment);

// Setup steps that must succeed; a failure here is a broken fixture, not a finding.
int Code(StatusCode code) { return static_cast<int>(code); }

std::string Flip(std::string bytes, size_t index, uint8_t mask) {
  bytes[index] = static_cast<char>(static_cast<uint8_t>(bytes[index]) ^ mask);
  return bytes;
}

v1::Testimony SyntheticTestimony(uint64_t n) {
  v1::Testimony t;
  t.set_narrative(absl::StrCat("Witness ", n,
                               " (synthetic) reports that armed men burned a granary in "
                               "Village X (synthetic) on market day."));
  t.set_language("fr");
  t.mutable_incident()->set_date("2026-03-14");
  t.mutable_incident()->set_region("ML-6");
  v1::Act* act = t.add_acts();
  act->set_type("abduction");
  act->set_count(2);
  t.mutable_consent()->set_informed(true);
  return t;
}

// A project as the admin client makes it (client/sync/admin_client.cc CreateProject).
struct FakeProject {
  std::string name;
  std::string id;
  crypto::BoxKeyPair epoch_key = crypto::BoxKeyPair::Generate();
  v1::SignedProjectKey key;
  std::string admin_wrapped_secret;
};

enum class StoreKind { kMemory, kRocks };

void PrintTo(StoreKind kind, std::ostream* os) {
  *os << (kind == StoreKind::kMemory ? "MemoryStore" : "RocksStore");
}

std::string StoreName(const ::testing::TestParamInfo<StoreKind>& info) {
  return info.param == StoreKind::kMemory ? "Memory" : "Rocks";
}

class CoreTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    if (GetParam() == StoreKind::kRocks) {
      std::string pattern = ::testing::TempDir() + "/temoin_core_XXXXXX";
      ASSERT_NE(mkdtemp(pattern.data()), nullptr);
      dir_ = pattern;
      store_ = Must(RocksStore::Open(dir_ + "/db"), "open rocks store");
    } else {
      auto memory = std::make_unique<MemoryStore>();
      memory_ = memory.get();
      store_ = std::move(memory);
    }
    // What server/app/data_dir.cc writes at init, before the first admin's code.
    v1::ServerConfig config;
    config.set_org_name("Synthetic Rights Org");
    WriteBatch batch;
    batch.Put(keys::Config(), config.SerializeAsString());
    ASSERT_TRUE(store_->Commit(batch).ok());
    receipt_secret_ = std::string(receipt_key_.secret_key().ExposeSecret());
    StartCore();
  }

  void TearDown() override {
    core_.reset();
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // A fresh core on the same store, as after a server restart.
  void StartCore() {
    core_.reset();
    core_ = std::make_unique<Core>(
        store_.get(), &clock_,
        Must(crypto::SigningKey::FromSecretKey(receipt_secret_), "receipt key"),
        Must(DefaultVocabulary(), "vocabulary"));
  }

  absl::StatusOr<v1::EnrollResponse> Enroll(FakeDevice& device, absl::string_view token) {
    absl::StatusOr<v1::EnrollResponse> response =
        core_->enrollment().Enroll(device.EnrollRequest(token));
    if (response.ok()) device.id = response->device_id();
    return response;
  }

  std::string BootstrapToken() {
    return Must(core_->enrollment().CreateInvite(v1::ROLE_ADMIN, "", 0, /*bootstrap=*/true),
                "bootstrap invite")
        .token();
  }

  // The first admin, holding the organisation key; signed in as admin_session_.
  void BootstrapAdmin() {
    admin_.org = crypto::SigningKey::Generate();
    Must(Enroll(admin_, BootstrapToken()), "bootstrap enrolment");
    admin_session_ = SignIn(admin_);
  }

  Session SignIn(const FakeDevice& device) {
    std::string nonce = Must(core_->sessions().IssueChallenge(device.id), "challenge");
    std::string token =
        Must(core_->sessions().Authenticate(device.id, nonce, device.SignChallenge(nonce)), "auth");
    return Must(core_->sessions().Verify(token), "verify");
  }

  v1::CreateProjectRequest ProjectRequest(const FakeProject& project,
                                          const crypto::SigningKey& org_key, uint32_t epoch = 1) {
    v1::ProjectKeyBody body;
    body.set_project_id(project.id);
    body.set_project_name(project.name);
    body.set_epoch(epoch);
    body.set_public_key(project.epoch_key.public_key());
    v1::CreateProjectRequest request;
    *request.mutable_key() = crypto::SignProjectKey(body, org_key);
    request.set_admin_wrapped_secret(
        Must(crypto::WrapEpochSecret(project.epoch_key, project.id, 1, admin_.box.public_key()),
             "wrap admin secret"));
    return request;
  }

  FakeProject NewProject(absl::string_view name) {
    FakeProject project;
    project.name = std::string(name);
    project.id = crypto::RandomBytes(crypto::kProjectIdBytes);
    return project;
  }

  FakeProject CreateProject(absl::string_view name) {
    FakeProject project = NewProject(name);
    v1::CreateProjectRequest request = ProjectRequest(project, *admin_.org);
    project.key = request.key();
    project.admin_wrapped_secret = request.admin_wrapped_secret();
    Must(core_->admin().CreateProject(admin_session_, request), "create project");
    return project;
  }

  std::string InviteToken(v1::Role role, absl::string_view project, int64_t ttl = 0) {
    v1::CreateInviteRequest request;
    request.set_role(role);
    request.set_project(std::string(project));
    request.set_ttl_seconds(ttl);
    return Must(core_->admin().CreateInvite(admin_session_, request), "invite").token();
  }

  FakeDevice EnrollMember(v1::Role role, absl::string_view project) {
    FakeDevice device;
    Must(Enroll(device, InviteToken(role, project)), "member enrolment");
    return device;
  }

  v1::PutGrantRequest GrantRequest(const FakeDevice& reviewer, const FakeProject& project) {
    v1::PutGrantRequest request;
    request.set_project(project.name);
    request.set_reviewer_device_id(reviewer.id);
    v1::EpochSecret* secret = request.add_secrets();
    secret->set_epoch(1);
    secret->set_sealed(
        Must(crypto::WrapEpochSecret(project.epoch_key, project.id, 1, reviewer.box.public_key()),
             "wrap grant"));
    return request;
  }

  void Grant(const FakeDevice& reviewer, const FakeProject& project) {
    Must(core_->admin().PutGrant(admin_session_, GrantRequest(reviewer, project)), "grant");
  }

  crypto::SealParams Params(FakeDevice& monitor, const FakeProject& project) {
    crypto::SealParams params;
    params.record_id = crypto::RandomBytes(crypto::kRecordIdBytes);
    params.device_seq = monitor.next_seq++;
    params.project_id = project.id;
    params.device_id = monitor.id;
    params.recipients = {{project.epoch_key.public_key(), 1}};
    return params;
  }

  v1::Envelope Seal(const crypto::SealParams& params, const crypto::SigningKey& key) {
    return Must(crypto::SealRecord(SyntheticTestimony(params.device_seq), params, key), "seal");
  }

  v1::Envelope Seal(FakeDevice& monitor, const FakeProject& project) {
    return Seal(Params(monitor, project), monitor.signing);
  }

  // Two envelopes of one record id and device with different digests (each seal makes a
  // fresh data key): the first the rightful one, the second its rival.
  std::pair<v1::Envelope, v1::Envelope> RivalEnvelopes(const crypto::SealParams& params,
                                                       const crypto::SigningKey& key) {
    std::pair<v1::Envelope, v1::Envelope> pair{Seal(params, key), Seal(params, key)};
    EXPECT_NE(crypto::RecordDigest(pair.first), crypto::RecordDigest(pair.second));
    return pair;
  }

  absl::StatusOr<std::vector<v1::RecordResult>> Upload(const Session& session,
                                                       const std::vector<v1::Envelope>& records) {
    google::protobuf::RepeatedPtrField<v1::Envelope> field(records.begin(), records.end());
    return core_->ingest().UploadBatch(session, field);
  }

  // Uploads one record that must be accepted; returns its receipt body.
  v1::ReceiptBody UploadOne(const Session& session, const v1::Envelope& envelope) {
    auto results = Must(Upload(session, {envelope}), "upload");
    EXPECT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].code(), 0) << results[0].message();
    return Must(crypto::VerifyReceipt(results[0].receipt(), receipt_key_.public_key(),
                                      RecordId(envelope), crypto::RecordDigest(envelope)),
                "verify receipt");
  }

  static std::string RecordId(const v1::Envelope& envelope) {
    v1::RecordHeader header;
    header.ParseFromString(envelope.header());
    return header.record_id();
  }

  std::map<std::string, std::string> Dump() {
    std::map<std::string, std::string> rows;
    EXPECT_TRUE(store_
                    ->Scan("", "",
                           [&](absl::string_view key, absl::string_view value) {
                             rows.emplace(std::string(key), std::string(value));
                             return true;
                           })
                    .ok());
    return rows;
  }

  std::vector<std::string> KeysWithPrefix(absl::string_view prefix) {
    std::vector<std::string> found;
    EXPECT_TRUE(store_
                    ->Scan(prefix, "",
                           [&](absl::string_view key, absl::string_view) {
                             found.emplace_back(key);
                             return true;
                           })
                    .ok());
    return found;
  }

  void SetRevoked(const std::string& device_id, bool revoked) {
    v1::StoredDevice device = *Must(core_->registry().Device(device_id), "device");
    device.set_revoked(revoked);
    WriteBatch batch;
    batch.Put(keys::Device(device_id), device.SerializeAsString());
    ASSERT_TRUE(core_->registry().store().Commit(batch).ok());
  }

  // Two projects, each with a monitor and a reviewer granted that project only.
  void SetUpWorld() {
    BootstrapAdmin();
    alpha_ = CreateProject("alpha");
    beta_ = CreateProject("beta");
    monitor_a_ = EnrollMember(v1::ROLE_MONITOR, "alpha");
    monitor_b_ = EnrollMember(v1::ROLE_MONITOR, "beta");
    reviewer_a_ = EnrollMember(v1::ROLE_REVIEWER, "alpha");
    reviewer_b_ = EnrollMember(v1::ROLE_REVIEWER, "beta");
    Grant(reviewer_a_, alpha_);
    Grant(reviewer_b_, beta_);
    monitor_a_session_ = SignIn(monitor_a_);
    monitor_b_session_ = SignIn(monitor_b_);
    reviewer_a_session_ = SignIn(reviewer_a_);
    reviewer_b_session_ = SignIn(reviewer_b_);
  }

  FakeClock clock_{kStartTime};
  crypto::SigningKey receipt_key_ = crypto::SigningKey::Generate();
  std::string receipt_secret_;
  std::string dir_;
  std::unique_ptr<Store> store_;
  MemoryStore* memory_ = nullptr;  // when GetParam() is kMemory
  std::unique_ptr<Core> core_;

  FakeDevice admin_;
  Session admin_session_;
  FakeProject alpha_, beta_;
  FakeDevice monitor_a_, monitor_b_, reviewer_a_, reviewer_b_;
  Session monitor_a_session_, monitor_b_session_, reviewer_a_session_, reviewer_b_session_;
};

INSTANTIATE_TEST_SUITE_P(Stores, CoreTest, ::testing::Values(StoreKind::kMemory, StoreKind::kRocks),
                         StoreName);

// Four uploaders on two devices at once: the log stays dense, every record is the leaf
// its receipt names (the documented encoding), and every inclusion and consistency
// proof verifies against a signed checkpoint, also after a restart.
TEST_P(CoreTest, TransparencyLogStaysProvableUnderConcurrentUploads) {
  SetUpWorld();
  crypto::SigningKey log_key = crypto::SigningKey::Generate();
  core_->set_log_key(
      Must(crypto::SigningKey::FromSecretKey(log_key.secret_key().ExposeSecret()), "log key"));
  constexpr int kThreads = 4, kBatches = 6, kPerBatch = 5;
  std::vector<std::vector<std::vector<v1::Envelope>>> work(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<v1::Envelope> batch;
      for (int r = 0; r < kPerBatch; ++r) {
        batch.push_back(t % 2 == 0 ? Seal(monitor_a_, alpha_) : Seal(monitor_b_, beta_));
      }
      work[t].push_back(std::move(batch));
    }
  }
  std::vector<uint64_t> sizes_seen(kThreads * kBatches);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Session& session = t % 2 == 0 ? monitor_a_session_ : monitor_b_session_;
      for (int b = 0; b < kBatches; ++b) {
        auto results = Upload(session, work[t][b]);
        ASSERT_TRUE(results.ok()) << results.status();
        for (const v1::RecordResult& result : *results) ASSERT_EQ(result.code(), 0);
        sizes_seen[t * kBatches + b] = *store_->LogSize();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  constexpr uint64_t kTotal = kThreads * kBatches * kPerBatch;
  ASSERT_EQ(*store_->LogSize(), kTotal);

  crypto::NoteVerifier verifier = Must(crypto::ParseVkey(*core_->log().Vkey()), "vkey");
  TransparencyLog::Signed checkpoint = Must(core_->log().CheckpointCovering(kTotal), "checkpoint");
  crypto::Checkpoint parsed = Must(crypto::VerifyCheckpoint(checkpoint.note, verifier), "verify");
  ASSERT_EQ(parsed.size, kTotal);
  ASSERT_EQ(parsed.extensions.size(), 1u);
  EXPECT_EQ(parsed.extensions[0].rfind("temoin-audit ", 0), 0u);

  std::set<uint64_t> indexes;
  for (int t = 0; t < kThreads; ++t) {
    const FakeDevice& device = t % 2 == 0 ? monitor_a_ : monitor_b_;
    for (const auto& batch : work[t]) {
      for (const v1::Envelope& envelope : batch) {
        v1::StoredRecord row =
            *Must(core_->registry().Record(device.id, RecordId(envelope)), "record");
        indexes.insert(row.log_index());
        std::string leaf = EncodeLogLeaf({.log_index = row.log_index(),
                                          .record_id = RecordId(envelope),
                                          .digest = crypto::RecordDigest(envelope),
                                          .device_id = device.id,
                                          .device_seq = row.device_seq(),
                                          .received_hour = row.received_at()});
        uint64_t leaf_index = row.log_index() - 1;
        auto proof = Must(core_->log().InclusionProof(leaf_index, parsed.size), "inclusion");
        EXPECT_TRUE(crypto::merkle::VerifyInclusion(crypto::merkle::HashLeaf(leaf), leaf_index,
                                                    parsed.size, proof, parsed.root)
                        .ok());
      }
    }
  }
  EXPECT_EQ(indexes.size(), kTotal);
  EXPECT_EQ(*indexes.begin(), 1u);
  EXPECT_EQ(*indexes.rbegin(), kTotal);
  for (uint64_t old_size : sizes_seen) {
    std::string old_root = Must(core_->log().Root(old_size), "old root");
    auto proof = Must(core_->log().ConsistencyProof(old_size, kTotal), "consistency");
    EXPECT_TRUE(
        crypto::merkle::VerifyConsistency(old_size, kTotal, old_root, parsed.root, proof).ok())
        << old_size;
  }

  // After a restart the log goes on from where it was, and the new checkpoint extends
  // the old one.
  StartCore();
  core_->set_log_key(std::move(log_key));
  UploadOne(monitor_a_session_, Seal(monitor_a_, alpha_));
  TransparencyLog::Signed next = Must(core_->log().CheckpointCovering(kTotal + 1), "checkpoint 2");
  EXPECT_EQ(next.size, kTotal + 1);
  auto proof = Must(core_->log().ConsistencyProof(kTotal, kTotal + 1), "consistency 2");
  EXPECT_TRUE(
      crypto::merkle::VerifyConsistency(kTotal, kTotal + 1, parsed.root, next.root, proof).ok());
}

// ---------------------------------------------------------------- enrolment

TEST_P(CoreTest, BootstrapAdminSetsOrganisationKey) {
  admin_.org = crypto::SigningKey::Generate();
  absl::StatusOr<v1::EnrollResponse> response = Enroll(admin_, BootstrapToken());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->role(), v1::ROLE_ADMIN);
  EXPECT_EQ(response->org_public_key(), admin_.org->public_key());
  EXPECT_EQ(response->server_signing_key(), receipt_key_.public_key());
  EXPECT_GT(response->vocabulary().ByteSizeLong(), 0u);
  EXPECT_EQ(Must(core_->registry().Config(), "config").org_public_key(), admin_.org->public_key());
}

TEST_P(CoreTest, BootstrapCannotRunTwice) {
  BootstrapAdmin();
  FakeDevice usurper;
  usurper.org = crypto::SigningKey::Generate();
  absl::StatusOr<v1::EnrollResponse> second = Enroll(usurper, BootstrapToken());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(), "organisation key is already set");
  EXPECT_EQ(Must(core_->registry().Config(), "config").org_public_key(), admin_.org->public_key());
  EXPECT_FALSE(Must(core_->registry().Device(usurper.ExpectedId()), "device").has_value());
}

TEST_P(CoreTest, BootstrapCodeWithoutOrganisationKeyIsRefused) {
  absl::StatusOr<v1::EnrollResponse> response = Enroll(admin_, BootstrapToken());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(CoreTest, EnrolRefusesUnknownToken) {
  BootstrapAdmin();
  FakeDevice device;
  for (const std::string& token : {crypto::RandomBytes(crypto::kEnrollmentTokenBytes),
                                   std::string(), std::string(15, 't'), std::string(17, 't')}) {
    absl::StatusOr<v1::EnrollResponse> response = Enroll(device, token);
    EXPECT_EQ(response.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(response.status().message(), kBadCode);
  }
}

TEST_P(CoreTest, EnrolRefusesReusedCode) {
  BootstrapAdmin();
  FakeProject project = CreateProject("alpha");
  std::string token = InviteToken(v1::ROLE_MONITOR, "alpha");
  FakeDevice first, second;
  ASSERT_TRUE(Enroll(first, token).ok());
  absl::StatusOr<v1::EnrollResponse> again = Enroll(second, token);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(), "enrolment code has already been used");
  EXPECT_FALSE(Must(core_->registry().Device(second.ExpectedId()), "device").has_value());
}

TEST_P(CoreTest, EnrolRefusesExpiredCodeAndAcceptsUntilItsLastSecond) {
  BootstrapAdmin();
  CreateProject("alpha");
  std::string on_time = InviteToken(v1::ROLE_MONITOR, "alpha", /*ttl=*/60);
  std::string late = InviteToken(v1::ROLE_MONITOR, "alpha", /*ttl=*/60);
  clock_.Advance(60);
  FakeDevice punctual;
  EXPECT_TRUE(Enroll(punctual, on_time).ok());
  clock_.Advance(1);
  FakeDevice tardy;
  absl::StatusOr<v1::EnrollResponse> response = Enroll(tardy, late);
  EXPECT_EQ(response.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(response.status().message(), "enrolment code has expired; ask for a new one");
}

TEST_P(CoreTest, EnrolRefusesProofByAnotherKeyAndKeepsTheCode) {
  BootstrapAdmin();
  CreateProject("alpha");
  std::string token = InviteToken(v1::ROLE_MONITOR, "alpha");
  FakeDevice device;
  crypto::SigningKey impostor = crypto::SigningKey::Generate();
  v1::EnrollRequest request = device.EnrollRequest(token);
  request.set_proof(impostor.Sign(
      crypto::kEnrollContext,
      crypto::EnrollProofMessage(request.token(), request.signing_public_key(),
                                 request.box_public_key(), request.org_public_key())));
  absl::StatusOr<v1::EnrollResponse> response = core_->enrollment().Enroll(request);
  EXPECT_EQ(response.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(response.status().message(), kBadCode);

  // A proof over other keys (the box key swapped in transit) fails the same way.
  v1::EnrollRequest swapped = device.EnrollRequest(token);
  swapped.set_box_public_key(crypto::BoxKeyPair::Generate().public_key());
  EXPECT_EQ(core_->enrollment().Enroll(swapped).status().code(), StatusCode::kUnauthenticated);

  // A refused proof does not burn the one-time code.
  EXPECT_TRUE(Enroll(device, token).ok());
}

TEST_P(CoreTest, EnrolRefusesMalformedKeyLengths) {
  BootstrapAdmin();
  CreateProject("alpha");
  std::string token = InviteToken(v1::ROLE_MONITOR, "alpha");
  FakeDevice device;
  auto resign = [&](v1::EnrollRequest r) {
    r.set_proof(
        device.signing.Sign(crypto::kEnrollContext,
                            crypto::EnrollProofMessage(r.token(), r.signing_public_key(),
                                                       r.box_public_key(), r.org_public_key())));
    return r;
  };
  v1::EnrollRequest good = device.EnrollRequest(token);
  std::vector<v1::EnrollRequest> bad(5, good);
  bad[0].set_signing_public_key(good.signing_public_key().substr(0, 31));
  bad[1].set_signing_public_key(good.signing_public_key() + "x");
  bad[2].set_box_public_key(good.box_public_key().substr(0, 31));
  bad[3].set_box_public_key("");
  bad[4].set_org_public_key(std::string(31, 'o'));
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(i);
    absl::StatusOr<v1::EnrollResponse> response = core_->enrollment().Enroll(resign(bad[i]));
    EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(Enroll(device, token).ok());  // none of it used the code
}

TEST_P(CoreTest, EnrolGivesDeviceIdDerivedFromKeys) {
  BootstrapAdmin();
  FakeProject project = CreateProject("alpha");
  FakeDevice device;
  absl::StatusOr<v1::EnrollResponse> response =
      Enroll(device, InviteToken(v1::ROLE_MONITOR, "alpha"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->device_id(), device.ExpectedId());
  EXPECT_EQ(admin_.id, admin_.ExpectedId());
  EXPECT_EQ(response->role(), v1::ROLE_MONITOR);
  EXPECT_EQ(response->project(), "alpha");
  EXPECT_EQ(response->project_id(), project.id);
  EXPECT_EQ(response->org_public_key(), admin_.org->public_key());
  ASSERT_EQ(response->project_keys_size(), 1);
  EXPECT_EQ(response->project_keys(0).SerializeAsString(), project.key.SerializeAsString());
  auto stored = Must(core_->registry().Device(device.ExpectedId()), "device");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->signing_public_key(), device.signing.public_key());
  EXPECT_EQ(stored->box_public_key(), device.box.public_key());
  EXPECT_EQ(stored->enrolled_at() % 3600, 0);  // no finer timing kept
  EXPECT_EQ(stored->project_id(), project.id);
  // A reviewer of the same project is told its project, but given no key to seal to.
  FakeDevice reviewer;
  response = Enroll(reviewer, InviteToken(v1::ROLE_REVIEWER, "alpha"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->role(), v1::ROLE_REVIEWER);
  EXPECT_EQ(response->project_id(), project.id);
  EXPECT_EQ(response->project_keys_size(), 0);
}

TEST_P(CoreTest, EnrolRefusesSameKeysTwice) {
  BootstrapAdmin();
  CreateProject("alpha");
  FakeDevice device;
  ASSERT_TRUE(Enroll(device, InviteToken(v1::ROLE_MONITOR, "alpha")).ok());
  std::string second_token = InviteToken(v1::ROLE_REVIEWER, "alpha");
  absl::StatusOr<v1::EnrollResponse> again = Enroll(device, second_token);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Must(core_->registry().Device(device.id), "device")->role(), v1::ROLE_MONITOR);
  FakeDevice other;
  EXPECT_TRUE(Enroll(other, second_token).ok());  // the refused attempt did not burn it
}

TEST_P(CoreTest, EnrolRefusesOrganisationKeyThatIsNotTheServers) {
  BootstrapAdmin();
  CreateProject("alpha");
  FakeDevice device;
  device.org = crypto::SigningKey::Generate();
  const std::string token = InviteToken(v1::ROLE_MONITOR, "alpha");
  absl::StatusOr<v1::EnrollResponse> response = Enroll(device, token);
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  // Naming the server's own organisation key is no refusal, and the code was kept.
  device.org =
      Must(crypto::SigningKey::FromSecretKey(admin_.org->secret_key().ExposeSecret()), "org key");
  response = Enroll(device, token);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->org_public_key(), admin_.org->public_key());
}

// A project gone (here: its row deleted) between the invite and its redemption: the
// code is refused as not found, enrols no device, and stays unused for when it is back.
TEST_P(CoreTest, EnrolForAProjectGoneSinceTheInviteIsNotFoundAndKeepsTheCode) {
  BootstrapAdmin();
  CreateProject("alpha");
  const std::string token = InviteToken(v1::ROLE_MONITOR, "alpha");
  const std::string row = Dump().at(keys::Project("alpha"));
  WriteBatch remove;
  remove.Delete(keys::Project("alpha"));
  ASSERT_TRUE(store_->Commit(remove).ok());
  FakeDevice device;
  absl::StatusOr<v1::EnrollResponse> response = Enroll(device, token);
  EXPECT_EQ(response.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(response.status().message(), "project does not exist");
  EXPECT_FALSE(Must(core_->registry().Device(device.ExpectedId()), "device").has_value());
  WriteBatch restore;
  restore.Put(keys::Project("alpha"), row);
  ASSERT_TRUE(store_->Commit(restore).ok());
  EXPECT_TRUE(Enroll(device, token).ok());
}

// A certificate under another organisation's authorisation does not verify: refused by
// name, no device enrolled, and the code still enrols the same device without one.
TEST_P(CoreTest, EnrolRefusesACertificateThatDoesNotVerifyAndKeepsTheCode) {
  BootstrapAdmin();
  FakeProject project = CreateProject("alpha");
  const std::string token = InviteToken(v1::ROLE_MONITOR, "alpha");
  crypto::SigningKey other_org = crypto::SigningKey::Generate();
  crypto::SigningKey invite = crypto::SigningKey::Generate();
  v1::InviteAuthorisationBody body;
  body.set_role(v1::ROLE_MONITOR);
  body.set_project("alpha");
  body.set_project_id(project.id);
  body.set_invite_public_key(invite.public_key());
  body.set_token_hash(crypto::InviteTokenHash(token));
  FakeDevice device;
  v1::EnrollRequest request = device.EnrollRequest(token);
  *request.mutable_certificate() =
      crypto::IssueDeviceCertificate(crypto::SignInviteAuthorisation(body, other_org), invite,
                                     device.signing, device.box.public_key());
  absl::StatusOr<v1::EnrollResponse> refused = core_->enrollment().Enroll(request);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), "device certificate does not verify");
  EXPECT_FALSE(Must(core_->registry().Device(device.ExpectedId()), "device").has_value());
  EXPECT_TRUE(Enroll(device, token).ok());
}

// The audit log names the new device as both actor and object of its enrolment, under
// the invite's project.
TEST_P(CoreTest, EnrolmentIsAuditedAsTheNewDeviceEnrollingItselfInTheInvitesProject) {
  BootstrapAdmin();
  CreateProject("alpha");
  FakeDevice device;
  ASSERT_TRUE(Enroll(device, InviteToken(v1::ROLE_REVIEWER, "alpha")).ok());
  v1::GetAuditLogResponse log = Must(core_->audit().Read(0, 10000), "audit");
  ASSERT_GT(log.entries_size(), 0);
  v1::AuditEntry last;
  ASSERT_TRUE(last.ParseFromString(log.entries(log.entries_size() - 1)));
  EXPECT_EQ(last.action(), "device.enroll");
  EXPECT_EQ(last.actor_device_id(), device.ExpectedId());
  EXPECT_EQ(last.object(), device.ExpectedId());
  EXPECT_EQ(last.project(), "alpha");
}

TEST_P(CoreTest, InviteForMissingProjectIsNotFound) {
  BootstrapAdmin();
  v1::CreateInviteRequest request;
  request.set_role(v1::ROLE_MONITOR);
  request.set_project("nowhere");
  EXPECT_EQ(core_->admin().CreateInvite(admin_session_, request).status().code(),
            StatusCode::kNotFound);
  request.set_role(v1::ROLE_REVIEWER);
  EXPECT_EQ(core_->admin().CreateInvite(admin_session_, request).status().code(),
            StatusCode::kNotFound);
}

TEST_P(CoreTest, InviteRefusesBadRoleProjectOrTtl) {
  BootstrapAdmin();
  CreateProject("alpha");
  v1::CreateInviteRequest request;
  request.set_role(v1::ROLE_ADMIN);
  request.set_project("alpha");  // admins name no project
  EXPECT_EQ(core_->admin().CreateInvite(admin_session_, request).status().code(),
            StatusCode::kInvalidArgument);
  request.set_role(v1::ROLE_MONITOR);
  request.set_ttl_seconds(-1);
  EXPECT_EQ(core_->admin().CreateInvite(admin_session_, request).status().code(),
            StatusCode::kInvalidArgument);
  request.set_ttl_seconds(Enrollment::kMaxCodeTtlSeconds + 1);
  EXPECT_EQ(core_->admin().CreateInvite(admin_session_, request).status().code(),
            StatusCode::kInvalidArgument);
  request.set_ttl_seconds(0);
  request.set_role(static_cast<v1::Role>(0));
  EXPECT_EQ(core_->admin().CreateInvite(admin_session_, request).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(CoreTest, InviteByNonAdminIsPermissionDenied) {
  SetUpWorld();
  v1::CreateInviteRequest request;
  request.set_role(v1::ROLE_MONITOR);
  request.set_project("alpha");
  for (const Session* session : {&monitor_a_session_, &reviewer_a_session_}) {
    absl::StatusOr<v1::CreateInviteResponse> response =
        core_->admin().CreateInvite(*session, request);
    EXPECT_EQ(response.status().code(), StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(core_->admin().ListDevices(monitor_a_session_).status().code(),
            StatusCode::kPermissionDenied);
}

// ---------------------------------------------------------------- sessions

TEST_P(CoreTest, SignedChallengeGivesTokenThatVerifiesToTheDevice) {
  SetUpWorld();
  std::string nonce = Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge");
  EXPECT_EQ(nonce.size(), crypto::kChallengeBytes);
  absl::StatusOr<std::string> token =
      core_->sessions().Authenticate(monitor_a_.id, nonce, monitor_a_.SignChallenge(nonce));
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<Session> session = core_->sessions().Verify(*token);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->device_id(), monitor_a_.id);
  EXPECT_EQ(session->role(), v1::ROLE_MONITOR);
  EXPECT_EQ(session->device.project_id(), alpha_.id);
}

TEST_P(CoreTest, ChallengeForMalformedDeviceIdIsInvalidArgument) {
  EXPECT_EQ(core_->sessions().IssueChallenge("short").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(CoreTest, ReplayedNonceIsRefused) {
  SetUpWorld();
  std::string nonce = Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge");
  std::string signature = monitor_a_.SignChallenge(nonce);
  ASSERT_TRUE(core_->sessions().Authenticate(monitor_a_.id, nonce, signature).ok());
  absl::StatusOr<std::string> replay =
      core_->sessions().Authenticate(monitor_a_.id, nonce, signature);
  EXPECT_EQ(replay.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(replay.status().message(), kAuthFailed);
}

// A challenge is bound to its device by its MAC, so another device's attempt fails and
// spends nothing: spending it on a failed attempt would need state that anyone could
// fill without signing in (sessions.h), and the challenge is useless to anyone but its
// device anyway.
TEST_P(CoreTest, NonceIssuedForAnotherDeviceIsRefusedAndStillServesOnlyItsDevice) {
  SetUpWorld();
  std::string nonce = Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge");
  absl::StatusOr<std::string> stolen =
      core_->sessions().Authenticate(monitor_b_.id, nonce, monitor_b_.SignChallenge(nonce));
  EXPECT_EQ(stolen.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(stolen.status().message(), kAuthFailed);
  EXPECT_TRUE(
      core_->sessions().Authenticate(monitor_a_.id, nonce, monitor_a_.SignChallenge(nonce)).ok());
  // And then it is spent.
  EXPECT_EQ(core_->sessions()
                .Authenticate(monitor_a_.id, nonce, monitor_a_.SignChallenge(nonce))
                .status()
                .code(),
            StatusCode::kUnauthenticated);
}

TEST_P(CoreTest, WrongSignatureIsRefused) {
  SetUpWorld();
  std::vector<std::string> signatures;
  std::vector<std::string> nonces;
  for (int i = 0; i < 4; ++i) {
    nonces.push_back(Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge"));
  }
  // Another device's key; the right key over another nonce; a flipped bit; no signature.
  signatures.push_back(monitor_b_.signing.Sign(
      crypto::kAuthContext, crypto::AuthChallengeMessage(nonces[0], monitor_a_.id)));
  signatures.push_back(monitor_a_.SignChallenge(nonces[0]));
  signatures.push_back(Flip(monitor_a_.SignChallenge(nonces[2]), 10, 0x04));
  signatures.push_back("");
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    absl::StatusOr<std::string> token =
        core_->sessions().Authenticate(monitor_a_.id, nonces[i], signatures[i]);
    EXPECT_EQ(token.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(token.status().message(), kAuthFailed);
  }
}

TEST_P(CoreTest, UnknownDeviceCannotAuthenticate) {
  FakeDevice stranger;
  stranger.id = stranger.ExpectedId();
  std::string nonce = Must(core_->sessions().IssueChallenge(stranger.id), "challenge");
  absl::StatusOr<std::string> token =
      core_->sessions().Authenticate(stranger.id, nonce, stranger.SignChallenge(nonce));
  EXPECT_EQ(token.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(token.status().message(), kAuthFailed);
}

TEST_P(CoreTest, ExpiredChallengeIsRefused) {
  SetUpWorld();
  std::string nonce = Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge");
  clock_.Advance(SessionAuthority::kChallengeTtlSeconds + 1);
  absl::StatusOr<std::string> token =
      core_->sessions().Authenticate(monitor_a_.id, nonce, monitor_a_.SignChallenge(nonce));
  EXPECT_EQ(token.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(token.status().message(), kAuthFailed);
}

TEST_P(CoreTest, TamperedTokenIsRefusedWhateverByteIsFlipped) {
  SetUpWorld();
  std::string nonce = Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge");
  std::string token =
      Must(core_->sessions().Authenticate(monitor_a_.id, nonce, monitor_a_.SignChallenge(nonce)),
           "auth");
  std::string raw = Must(FromBase64Url(token, "token"), "decode");
  for (size_t i = 0; i < raw.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      SCOPED_TRACE(absl::StrCat("byte ", i, " mask ", static_cast<int>(mask)));
      absl::StatusOr<Session> session = core_->sessions().Verify(ToBase64Url(Flip(raw, i, mask)));
      EXPECT_EQ(session.status().code(), StatusCode::kUnauthenticated);
      EXPECT_EQ(session.status().message(), kBadToken);
    }
  }
  for (const std::string& bad : {std::string(), ToBase64Url(raw.substr(1)), ToBase64Url(raw + "x"),
                                 token + "A", std::string("not base64 at all!")}) {
    EXPECT_EQ(core_->sessions().Verify(bad).status().code(), StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(core_->sessions().Verify(token).ok());
}

TEST_P(CoreTest, ExpiredTokenIsRefused) {
  SetUpWorld();
  std::string nonce = Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge");
  std::string token =
      Must(core_->sessions().Authenticate(monitor_a_.id, nonce, monitor_a_.SignChallenge(nonce)),
           "auth");
  clock_.Advance(SessionAuthority::kSessionTtlSeconds);
  EXPECT_TRUE(core_->sessions().Verify(token).ok());
  clock_.Advance(1);
  absl::StatusOr<Session> session = core_->sessions().Verify(token);
  EXPECT_EQ(session.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(session.status().message(), "session has expired; sign in again");
}

TEST_P(CoreTest, TokenFromBeforeRestartIsRefused) {
  SetUpWorld();
  std::string nonce = Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge");
  std::string token =
      Must(core_->sessions().Authenticate(monitor_a_.id, nonce, monitor_a_.SignChallenge(nonce)),
           "auth");
  StartCore();
  EXPECT_EQ(core_->sessions().Verify(token).status().code(), StatusCode::kUnauthenticated);
}

TEST_P(CoreTest, RevokedDeviceIsRefusedAtAuthenticateAndVerify) {
  SetUpWorld();
  std::string nonce = Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge");
  std::string token =
      Must(core_->sessions().Authenticate(monitor_a_.id, nonce, monitor_a_.SignChallenge(nonce)),
           "auth");
  SetRevoked(monitor_a_.id, true);

  absl::StatusOr<Session> session = core_->sessions().Verify(token);
  EXPECT_EQ(session.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(session.status().message(), kRevoked);

  std::string fresh = Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge");
  absl::StatusOr<std::string> again =
      core_->sessions().Authenticate(monitor_a_.id, fresh, monitor_a_.SignChallenge(fresh));
  EXPECT_EQ(again.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(again.status().message(), kRevoked);

  // Revocation is not confused with a bad signature: a wrong one still says so.
  std::string third = Must(core_->sessions().IssueChallenge(monitor_a_.id), "challenge");
  EXPECT_EQ(core_->sessions()
                .Authenticate(monitor_a_.id, third, monitor_b_.SignChallenge(third))
                .status()
                .code(),
            StatusCode::kUnauthenticated);
}

// ---------------------------------------------------------------- projects and grants

TEST_P(CoreTest, CreateProjectRefusesKeyNotSignedByOrganisationKey) {
  BootstrapAdmin();
  FakeProject project = NewProject("alpha");
  crypto::SigningKey rogue = crypto::SigningKey::Generate();
  absl::StatusOr<v1::CreateProjectResponse> response =
      core_->admin().CreateProject(admin_session_, ProjectRequest(project, rogue));
  EXPECT_EQ(response.status().code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(Must(core_->registry().Project("alpha"), "project").has_value());
}

TEST_P(CoreTest, CreateProjectStoresSignedKey) {
  BootstrapAdmin();
  FakeProject project = CreateProject("alpha");
  auto stored = Must(core_->registry().Project("alpha"), "project");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->project_id(), project.id);
  ASSERT_EQ(stored->keys_size(), 1);
  EXPECT_EQ(stored->keys(0).SerializeAsString(), project.key.SerializeAsString());
  EXPECT_EQ(Must(core_->registry().ProjectById(project.id), "by id")->name(), "alpha");
  auto secrets = Must(core_->admin().GetProjectSecrets(admin_session_,
                                                       [] {
                                                         v1::GetProjectSecretsRequest r;
                                                         r.set_project("alpha");
                                                         return r;
                                                       }()),
                      "secrets");
  ASSERT_EQ(secrets.secrets_size(), 1);
  EXPECT_EQ(secrets.secrets(0).sealed(), project.admin_wrapped_secret);
}

TEST_P(CoreTest, CreateProjectRefusesDuplicateNameOrId) {
  BootstrapAdmin();
  FakeProject first = CreateProject("alpha");
  FakeProject same_name = NewProject("alpha");
  EXPECT_EQ(core_->admin()
                .CreateProject(admin_session_, ProjectRequest(same_name, *admin_.org))
                .status()
                .code(),
            StatusCode::kAlreadyExists);
  FakeProject same_id = NewProject("beta");
  same_id.id = first.id;
  EXPECT_EQ(core_->admin()
                .CreateProject(admin_session_, ProjectRequest(same_id, *admin_.org))
                .status()
                .code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(Must(core_->registry().Project("alpha"), "project")->project_id(), first.id);
}

TEST_P(CoreTest, CreateProjectRefusesBadNames) {
  BootstrapAdmin();
  for (const std::string& name :
       {std::string(), std::string("Alpha"), std::string("-alpha"), std::string("_alpha"),
        std::string("al pha"), std::string("al/pha"), std::string("caf\xc3\xa9"),
        std::string(65, 'a'), std::string("alpha\n"), std::string("al\0pha", 6)}) {
    SCOPED_TRACE(name);
    absl::StatusOr<v1::CreateProjectResponse> response =
        core_->admin().CreateProject(admin_session_, ProjectRequest(NewProject(name), *admin_.org));
    EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(core_->admin()
                  .CreateProject(admin_session_,
                                 ProjectRequest(NewProject(std::string(64, 'z')), *admin_.org))
                  .ok());
  EXPECT_TRUE(core_->admin()
                  .CreateProject(admin_session_, ProjectRequest(NewProject("9a-b_c"), *admin_.org))
                  .ok());
}

TEST_P(CoreTest, CreateProjectRefusesWrongEpochOrSecretLength) {
  BootstrapAdmin();
  FakeProject project = NewProject("alpha");
  EXPECT_EQ(core_->admin()
                .CreateProject(admin_session_, ProjectRequest(project, *admin_.org, /*epoch=*/2))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  v1::CreateProjectRequest request = ProjectRequest(project, *admin_.org);
  request.set_admin_wrapped_secret(request.admin_wrapped_secret().substr(1));
  EXPECT_EQ(core_->admin().CreateProject(admin_session_, request).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(CoreTest, NonAdminCannotCreateProjectOrGrant) {
  SetUpWorld();
  FakeProject project = NewProject("gamma");
  for (const Session* session : {&monitor_a_session_, &reviewer_a_session_}) {
    EXPECT_EQ(core_->admin()
                  .CreateProject(*session, ProjectRequest(project, *admin_.org))
                  .status()
                  .code(),
              StatusCode::kPermissionDenied);
    EXPECT_EQ(core_->admin().PutGrant(*session, GrantRequest(reviewer_a_, beta_)).status().code(),
              StatusCode::kPermissionDenied);
  }
}

TEST_P(CoreTest, GrantToMonitorIsFailedPrecondition) {
  SetUpWorld();
  v1::PutGrantRequest request = GrantRequest(monitor_a_, alpha_);
  absl::StatusOr<v1::PutGrantResponse> response = core_->admin().PutGrant(admin_session_, request);
  EXPECT_EQ(response.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(response.status().message(), "device is not an active reviewer");
  EXPECT_TRUE(KeysWithPrefix(keys::GrantPrefix(monitor_a_.id)).empty());
}

TEST_P(CoreTest, GrantToRevokedReviewerIsFailedPrecondition) {
  SetUpWorld();
  SetRevoked(reviewer_a_.id, true);
  EXPECT_EQ(
      core_->admin().PutGrant(admin_session_, GrantRequest(reviewer_a_, beta_)).status().code(),
      StatusCode::kFailedPrecondition);
}

TEST_P(CoreTest, GrantRefusesUnknownProjectOrDevice) {
  SetUpWorld();
  v1::PutGrantRequest request = GrantRequest(reviewer_a_, beta_);
  request.set_project("nowhere");
  EXPECT_EQ(core_->admin().PutGrant(admin_session_, request).status().code(),
            StatusCode::kNotFound);
  request = GrantRequest(reviewer_a_, beta_);
  request.set_reviewer_device_id(crypto::RandomBytes(crypto::kDeviceIdBytes));
  EXPECT_EQ(core_->admin().PutGrant(admin_session_, request).status().code(),
            StatusCode::kNotFound);
  request.set_reviewer_device_id("short");
  EXPECT_EQ(core_->admin().PutGrant(admin_session_, request).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(CoreTest, GrantRefusesMalformedSecrets) {
  SetUpWorld();
  const v1::PutGrantRequest good = GrantRequest(reviewer_a_, beta_);
  std::vector<v1::PutGrantRequest> bad(6, good);
  bad[0].mutable_secrets(0)->set_sealed(good.secrets(0).sealed().substr(1));
  bad[1].mutable_secrets(0)->set_sealed(good.secrets(0).sealed() + "x");
  bad[2].mutable_secrets(0)->set_sealed("");
  bad[3].mutable_secrets(0)->set_epoch(0);
  bad[4].mutable_secrets(0)->set_epoch(2);
  bad[5].clear_secrets();
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(core_->admin().PutGrant(admin_session_, bad[i]).status().code(),
              StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(Must(core_->registry().GrantedProjects(reviewer_a_.id), "grants"),
            std::vector<std::string>{"alpha"});
}

TEST_P(CoreTest, GetGrantsReturnsWhatWasPutAndItOpens) {
  SetUpWorld();
  v1::PutGrantRequest request = GrantRequest(reviewer_a_, beta_);
  ASSERT_TRUE(core_->admin().PutGrant(admin_session_, request).ok());
  absl::StatusOr<v1::GetGrantsResponse> grants = core_->review().GetGrants(reviewer_a_session_);
  ASSERT_TRUE(grants.ok()) << grants.status();
  ASSERT_EQ(grants->grants_size(), 2);
  std::map<std::string, const v1::Grant*> by_project;
  for (const v1::Grant& grant : grants->grants()) {
    v1::ProjectKeyBody body =
        Must(crypto::VerifyProjectKey(grant.key(), admin_.org->public_key()), "project key");
    by_project[body.project_name()] = &grant;
  }
  ASSERT_EQ(by_project.count("beta"), 1u);
  EXPECT_EQ(by_project["beta"]->sealed_secret(), request.secrets(0).sealed());
  EXPECT_EQ(by_project["beta"]->key().SerializeAsString(), beta_.key.SerializeAsString());
  EXPECT_EQ(by_project["alpha"]->key().SerializeAsString(), alpha_.key.SerializeAsString());
  crypto::BoxKeyPair opened =
      Must(crypto::UnwrapEpochSecret(by_project["beta"]->sealed_secret(), reviewer_a_.box, beta_.id,
                                     1, beta_.epoch_key.public_key()),
           "unwrap");
  EXPECT_EQ(opened.public_key(), beta_.epoch_key.public_key());

  // The other reviewer sees only its own.
  auto other = Must(core_->review().GetGrants(reviewer_b_session_), "grants");
  ASSERT_EQ(other.grants_size(), 1);
  EXPECT_EQ(other.grants(0).key().SerializeAsString(), beta_.key.SerializeAsString());
}

TEST_P(CoreTest, ListDevicesShowsEnrolledAndRevokedDevices) {
  SetUpWorld();
  SetRevoked(monitor_b_.id, true);
  auto devices = Must(core_->admin().ListDevices(admin_session_), "list");
  std::map<std::string, std::string> state;
  for (const v1::DeviceInfo& info : devices.devices()) {
    state[info.device_id()] = info.state();
    EXPECT_EQ(crypto::DeviceIdFromKeys(info.signing_public_key(), info.box_public_key()),
              info.device_id());
  }
  EXPECT_EQ(state.size(), 5u);
  EXPECT_EQ(state[monitor_a_.id], "active");
  EXPECT_EQ(state[monitor_b_.id], "revoked");
}

TEST_P(CoreTest, SettingsGiveMonitorItsProjectKeys) {
  SetUpWorld();
  auto settings = Must(core_->GetSettings(monitor_b_session_), "settings");
  ASSERT_EQ(settings.project_keys_size(), 1);
  EXPECT_EQ(settings.project_keys(0).SerializeAsString(), beta_.key.SerializeAsString());
  EXPECT_GT(settings.vocabulary().ByteSizeLong(), 0u);
}

TEST_P(CoreTest, OnlyAnOrgSignedTlsAnnouncementReachesDevices) {
  SetUpWorld();
  v1::TlsKeyAnnouncementBody body;
  body.set_next_spki_sha256(std::string(32, 'n'));
  v1::AnnounceTlsKeyRequest request;
  request.mutable_announcement()->set_body(body.SerializeAsString());
  // Signed by a key that is not the organisation's: refused, and nothing is handed out.
  crypto::SigningKey stranger = crypto::SigningKey::Generate();
  request.mutable_announcement()->set_org_signature(
      stranger.Sign(kTlsAnnouncementContext, request.announcement().body()));
  EXPECT_EQ(core_->admin().AnnounceTlsKey(admin_session_, request).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(Must(core_->GetSettings(monitor_b_session_), "settings").has_next_tls_key());
  // Signed by the organisation key: a monitor may not store it, the admin may.
  request.mutable_announcement()->set_org_signature(
      admin_.org->Sign(kTlsAnnouncementContext, request.announcement().body()));
  EXPECT_EQ(core_->admin().AnnounceTlsKey(monitor_b_session_, request).status().code(),
            absl::StatusCode::kPermissionDenied);
  Must(core_->admin().AnnounceTlsKey(admin_session_, request), "announce");
  auto settings = Must(core_->GetSettings(monitor_b_session_), "settings");
  EXPECT_EQ(settings.next_tls_key().SerializeAsString(),
            request.announcement().SerializeAsString());
  // Once the server serves that key (after `tls switch` and a restart) the
  // announcement is over and no longer sent; another served key leaves it announced.
  core_->set_served_tls_pin(std::string(32, 'o'));
  EXPECT_TRUE(Must(core_->GetSettings(monitor_b_session_), "settings").has_next_tls_key());
  core_->set_served_tls_pin(std::string(32, 'n'));
  EXPECT_FALSE(Must(core_->GetSettings(monitor_b_session_), "settings").has_next_tls_key());
}

TEST_P(CoreTest, OnlyAnOrgSignedStatementOfTheServersOwnKeysReachesDevices) {
  SetUpWorld();
  core_->set_log_key(crypto::SigningKey::Generate());
  const std::string vkey = Must(core_->log().Vkey(), "vkey");
  auto statement = [&](int64_t issued, std::string receipt_key, const crypto::SigningKey& by) {
    crypto::ServerKeys keys;
    keys.issued = issued;
    keys.receipt_keys.push_back({std::move(receipt_key), 0, std::nullopt});
    keys.log_keys.push_back({vkey, 0, std::nullopt});
    v1::CertifyServerKeysRequest request;
    request.mutable_statement()->set_body(Must(crypto::FormatServerKeys(keys), "format"));
    request.mutable_statement()->set_org_signature(
        by.Sign(crypto::kServerKeysContext, request.statement().body()));
    return request;
  };
  crypto::SigningKey stranger = crypto::SigningKey::Generate();
  EXPECT_EQ(
      core_->CertifyServerKeys(admin_session_, statement(100, receipt_key_.public_key(), stranger))
          .status()
          .code(),
      absl::StatusCode::kUnauthenticated);
  // Keys the server does not use would cut every device off: refused.
  EXPECT_EQ(
      core_->CertifyServerKeys(admin_session_, statement(100, std::string(32, 'x'), *admin_.org))
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  const v1::CertifyServerKeysRequest good = statement(200, receipt_key_.public_key(), *admin_.org);
  EXPECT_EQ(core_->CertifyServerKeys(monitor_b_session_, good).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(Must(core_->GetSettings(monitor_b_session_), "settings").has_server_keys());
  Must(core_->CertifyServerKeys(admin_session_, good), "certify");
  // An older statement cannot replace the newer one.
  EXPECT_EQ(core_
                ->CertifyServerKeys(admin_session_,
                                    statement(100, receipt_key_.public_key(), *admin_.org))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  auto settings = Must(core_->GetSettings(monitor_b_session_), "settings");
  EXPECT_EQ(settings.server_keys().SerializeAsString(), good.statement().SerializeAsString());
}

// ---------------------------------------------------------------- ingest

TEST_P(CoreTest, UploadGivesVerifiableReceiptsWithDenseLogIndexes) {
  SetUpWorld();
  std::vector<v1::Envelope> first, second;
  for (int i = 0; i < 4; ++i) first.push_back(Seal(monitor_a_, alpha_));
  for (int i = 0; i < 3; ++i) second.push_back(Seal(monitor_b_, beta_));
  std::vector<v1::Envelope> all = first;
  all.insert(all.end(), second.begin(), second.end());

  auto results_a = Must(Upload(monitor_a_session_, first), "upload a");
  auto results_b = Must(Upload(monitor_b_session_, second), "upload b");
  std::vector<v1::RecordResult> results = results_a;
  results.insert(results.end(), results_b.begin(), results_b.end());
  ASSERT_EQ(results.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(results[i].code(), 0) << results[i].message();
    EXPECT_EQ(results[i].record_id(), RecordId(all[i]));
    absl::StatusOr<v1::ReceiptBody> body =
        crypto::VerifyReceipt(results[i].receipt(), receipt_key_.public_key(), RecordId(all[i]),
                              crypto::RecordDigest(all[i]));
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_EQ(body->log_index(), i + 1);
    EXPECT_EQ(body->received_at() % 3600, 0);
    EXPECT_EQ(body->server_key_id(), crypto::KeyId(receipt_key_.public_key()));
    // Another server key or another digest does not verify.
    EXPECT_FALSE(crypto::VerifyReceipt(results[i].receipt(),
                                       crypto::SigningKey::Generate().public_key(),
                                       RecordId(all[i]), crypto::RecordDigest(all[i]))
                     .ok());
    auto stored = Must(core_->registry().Record(i < first.size() ? monitor_a_.id : monitor_b_.id,
                                                RecordId(all[i])),
                       "record");
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->envelope().SerializeAsString(), all[i].SerializeAsString());
    EXPECT_EQ(stored->log_index(), i + 1);
  }
  EXPECT_EQ(KeysWithPrefix("log/").size(), all.size());
  EXPECT_EQ(Must(core_->registry().Device(monitor_a_.id), "device")->highest_seq(), 4u);
}

TEST_P(CoreTest, SameRecordAgainGetsSameReceiptAndNoNewLogEntry) {
  SetUpWorld();
  v1::Envelope envelope = Seal(monitor_a_, alpha_);
  auto first = Must(Upload(monitor_a_session_, {envelope}), "first");
  ASSERT_EQ(first[0].code(), 0);
  std::map<std::string, std::string> before = Dump();
  clock_.Advance(7200);  // a later retry still gets the original receipt
  auto again = Must(Upload(monitor_a_session_, {envelope}), "again");
  ASSERT_EQ(again[0].code(), 0);
  EXPECT_EQ(again[0].receipt().SerializeAsString(), first[0].receipt().SerializeAsString());
  EXPECT_EQ(Dump(), before);
  EXPECT_EQ(UploadOne(monitor_a_session_, Seal(monitor_a_, alpha_)).log_index(), 2u);
}

TEST_P(CoreTest, SameRecordTwiceInOneBatchGetsOneReceipt) {
  SetUpWorld();
  v1::Envelope envelope = Seal(monitor_a_, alpha_);
  v1::Envelope other = Seal(monitor_a_, alpha_);
  auto results = Must(Upload(monitor_a_session_, {envelope, other, envelope}), "upload");
  ASSERT_EQ(results.size(), 3u);
  for (const v1::RecordResult& result : results) EXPECT_EQ(result.code(), 0) << result.message();
  EXPECT_EQ(results[0].receipt().SerializeAsString(), results[2].receipt().SerializeAsString());
  EXPECT_EQ(results[0].record_id(), results[2].record_id());
  EXPECT_TRUE(crypto::VerifyReceipt(results[2].receipt(), receipt_key_.public_key(),
                                    RecordId(envelope), crypto::RecordDigest(envelope))
                  .ok());
  EXPECT_EQ(KeysWithPrefix("log/").size(), 2u);
  EXPECT_EQ(UploadOne(monitor_a_session_, Seal(monitor_a_, alpha_)).log_index(), 3u);
}

// A batch large enough to be verified on two threads, with a forged record in each
// half, a record stored before and a repeat: the positional answer names exactly those,
// by position, and every other record is a consecutive leaf of the batch receipt.
TEST_P(CoreTest, PositionalAnswerNamesOnlyWhatIsNotANewLeaf) {
  SetUpWorld();
  FakeDevice other_monitor = EnrollMember(v1::ROLE_MONITOR, "alpha");
  v1::Envelope earlier = Seal(monitor_a_, alpha_);
  const uint64_t earlier_index = UploadOne(monitor_a_session_, earlier).log_index();
  std::vector<v1::Envelope> batch;
  for (int i = 0; i < 40; ++i) batch.push_back(Seal(monitor_a_, alpha_));
  batch[3] = Seal(Params(monitor_a_, alpha_), other_monitor.signing);
  batch[30] = Seal(Params(monitor_a_, alpha_), other_monitor.signing);
  batch[10] = earlier;
  batch[20] = batch[5];
  google::protobuf::RepeatedPtrField<v1::Envelope> field(batch.begin(), batch.end());
  std::string signature;
  auto results = Must(core_->ingest().UploadBatch(monitor_a_session_, field, &signature), "upload");
  v1::UploadResponse answer = CompactUploadResponse(9, results, signature, /*positional=*/true);

  EXPECT_EQ(answer.batch_id(), 9u);
  EXPECT_EQ(answer.first_log_index(), earlier_index + 1);
  EXPECT_EQ(answer.batch_receipt().signature(), signature);
  std::vector<uint32_t> named;
  for (const v1::RecordResult& result : answer.results()) {
    EXPECT_TRUE(result.record_id().empty());
    named.push_back(result.position());
  }
  EXPECT_EQ(named, (std::vector<uint32_t>{3, 10, 20, 30}));
  EXPECT_EQ(answer.results(0).code(), Code(StatusCode::kUnauthenticated));
  EXPECT_EQ(answer.results(3).code(), Code(StatusCode::kUnauthenticated));
  EXPECT_TRUE(answer.results(1).has_receipt());  // stored before: its own receipt, whole
  EXPECT_TRUE(answer.results(2).has_receipt());  // the repeat: its first copy's leaf
  // The 36 leaves, rebuilt as the device does, pass the one signature.
  std::vector<v1::ReceiptBody> leaves;
  uint64_t log_index = answer.first_log_index();
  for (int i = 0; i < 40; ++i) {
    if (i == 3 || i == 10 || i == 20 || i == 30) continue;
    v1::ReceiptBody& body = leaves.emplace_back();
    body.set_format_version(1);
    body.set_record_id(RecordId(batch[i]));
    body.set_digest(crypto::RecordDigest(batch[i]));
    body.set_log_index(log_index++);
    body.set_received_at(answer.batch_receipt().received_at());
    body.set_server_key_id(answer.batch_receipt().server_key_id());
  }
  EXPECT_TRUE(crypto::VerifyBatchReceipts(leaves, signature, receipt_key_.public_key()).ok());
  std::swap(leaves[0], leaves[1]);  // a wrong inference fails
  EXPECT_FALSE(crypto::VerifyBatchReceipts(leaves, signature, receipt_key_.public_key()).ok());
  EXPECT_EQ(KeysWithPrefix("log/").size(), 1u + 36u);
}

TEST_P(CoreTest, SameIdWithOtherContentIsConflictKeptAsEvidence) {
  SetUpWorld();
  crypto::SealParams params = Params(monitor_a_, alpha_);
  auto [original, rival] = RivalEnvelopes(params, monitor_a_.signing);
  UploadOne(monitor_a_session_, original);

  auto results = Must(Upload(monitor_a_session_, {rival}), "upload rival");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code(), Code(StatusCode::kFailedPrecondition));
  EXPECT_EQ(results[0].message(), "record id already stored with different content");
  EXPECT_FALSE(results[0].has_receipt());
  EXPECT_EQ(results[0].record_id(), params.record_id);

  std::vector<std::string> evidence = KeysWithPrefix("cfl/");
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0],
            keys::Conflict(monitor_a_.id, params.record_id, crypto::RecordDigest(rival)));
  v1::Envelope kept;
  ASSERT_TRUE(kept.ParseFromString(*Must(store_->Get(evidence[0]), "get evidence")));
  EXPECT_EQ(kept.SerializeAsString(), rival.SerializeAsString());
  auto stored = Must(core_->registry().Record(monitor_a_.id, params.record_id), "record");
  EXPECT_EQ(stored->envelope().SerializeAsString(), original.SerializeAsString());
  EXPECT_EQ(KeysWithPrefix("log/").size(), 1u);

  // In one batch: the first wins, the second is the conflict.
  crypto::SealParams fresh = Params(monitor_a_, alpha_);
  auto both = Must(Upload(monitor_a_session_,
                          {Seal(fresh, monitor_a_.signing), Seal(fresh, monitor_a_.signing)}),
                   "both");
  EXPECT_EQ(both[0].code(), 0);
  EXPECT_EQ(both[1].code(), Code(StatusCode::kFailedPrecondition));
  EXPECT_EQ(KeysWithPrefix("cfl/").size(), 2u);
}

// A commitment fixes what its body will be: a body of the same id with another digest
// is refused and kept as evidence, alone or beside the rightful body in one batch, and
// the rightful body is then stored under the commitment's digest.
TEST_P(CoreTest, BodyThatDiffersFromItsCommitmentIsConflictKeptAsEvidence) {
  SetUpWorld();
  crypto::SealParams params = Params(monitor_a_, alpha_);
  auto [committed, rival] = RivalEnvelopes(params, monitor_a_.signing);
  google::protobuf::RepeatedPtrField<v1::Commitment> commitment;
  *commitment.Add() = crypto::MakeCommitment(committed);
  ASSERT_EQ(Must(core_->ingest().CommitBatch(monitor_a_session_, commitment), "commit")[0].code(),
            0);

  auto results = Must(Upload(monitor_a_session_, {rival}), "upload rival");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code(), Code(StatusCode::kFailedPrecondition));
  EXPECT_EQ(results[0].message(), "record id already stored with different content");
  EXPECT_FALSE(results[0].has_receipt());
  EXPECT_FALSE(Must(core_->registry().Record(monitor_a_.id, params.record_id), "record"));
  EXPECT_EQ(KeysWithPrefix("cfl/"),
            std::vector<std::string>{
                keys::Conflict(monitor_a_.id, params.record_id, crypto::RecordDigest(rival))});
  EXPECT_TRUE(KeysWithPrefix("log/").empty());

  // The rival first in a batch does not take the id from the body that follows it.
  auto both = Must(Upload(monitor_a_session_, {rival, committed}), "both");
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].code(), Code(StatusCode::kFailedPrecondition));
  EXPECT_EQ(both[1].code(), 0) << both[1].message();
  EXPECT_TRUE(crypto::VerifyReceipt(both[1].receipt(), receipt_key_.public_key(), params.record_id,
                                    crypto::RecordDigest(committed))
                  .ok());
  auto stored = Must(core_->registry().Record(monitor_a_.id, params.record_id), "record");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->digest(), crypto::RecordDigest(committed));
  EXPECT_EQ(KeysWithPrefix("log/").size(), 1u);
}

// Record ids are per device: a device of another project that used an id first (body
// or commitment only) neither blocks the rightful record nor shows in any answer.
TEST_P(CoreTest, SameIdFromDevicesOfTwoProjectsIsTwoRecordsEachFetchableByItsReviewer) {
  SetUpWorld();
  crypto::SealParams squat = Params(monitor_b_, beta_);
  crypto::SealParams own = Params(monitor_a_, alpha_);
  own.record_id = squat.record_id;
  v1::Envelope squatter = Seal(squat, monitor_b_.signing);
  v1::Envelope rightful = Seal(own, monitor_a_.signing);
  google::protobuf::RepeatedPtrField<v1::Commitment> early;
  *early.Add() = crypto::MakeCommitment(squatter);
  ASSERT_EQ(Must(core_->ingest().CommitBatch(monitor_b_session_, early), "squat")[0].code(), 0);
  UploadOne(monitor_b_session_, squatter);

  google::protobuf::RepeatedPtrField<v1::Commitment> mine;
  *mine.Add() = crypto::MakeCommitment(rightful);
  auto committed = Must(core_->ingest().CommitBatch(monitor_a_session_, mine), "commit");
  EXPECT_EQ(committed[0].code(), 0) << committed[0].message();
  EXPECT_TRUE(committed[0].has_commitment_receipt());
  UploadOne(monitor_a_session_, rightful);
  EXPECT_TRUE(KeysWithPrefix("cfl/").empty()) << "another device's record counted as a conflict";
  EXPECT_EQ(Must(core_->registry().RecordsWithId(own.record_id), "records").size(), 2u);

  for (auto [session, expected] :
       {std::pair{&reviewer_a_session_, &rightful}, std::pair{&reviewer_b_session_, &squatter}}) {
    v1::FetchRecordsRequest fetch;
    fetch.add_record_ids(own.record_id);
    auto fetched = Must(core_->review().FetchRecords(*session, fetch), "fetch");
    ASSERT_EQ(fetched.size(), 1u);
    EXPECT_EQ(fetched[0].envelope().SerializeAsString(), expected->SerializeAsString());
    auto listed = Must(core_->review().ListRecords(*session, {}), "list");
    ASSERT_EQ(listed.records_size(), 1);
    EXPECT_EQ(listed.records(0).record_id(), own.record_id);
  }
}

// Commitments in batch form (issue 13): one device signature over (record id, digest,
// device_seq) leaves, answered with one commitment batch receipt that the device
// rebuilds from its own ids and digests.
class CommitmentBatchFixture {
 public:
  static v1::CommitmentBatch Of(const std::vector<v1::Envelope>& envelopes,
                                const crypto::SigningKey& key) {
    std::vector<v1::CommitmentLeaf> leaves;
    v1::CommitmentBatch batch;
    for (const v1::Envelope& envelope : envelopes) {
      v1::RecordHeader header;
      header.ParseFromString(envelope.header());
      v1::CommitmentLeaf leaf;
      leaf.set_record_id(header.record_id());
      leaf.set_digest(crypto::RecordDigest(envelope));
      leaf.set_device_seq(header.device_seq());
      leaves.push_back(leaf);
      *batch.add_leaves() = leaf;
    }
    batch.set_signature(crypto::SignCommitmentBatch(leaves, key));
    return batch;
  }

  // What the device does with an answer: the leaves without a result, rebuilt.
  static absl::StatusOr<std::vector<v1::Receipt>> Rebuild(const v1::CommitmentBatch& batch,
                                                          const v1::UploadResponse& response,
                                                          absl::string_view server_key) {
    std::set<uint32_t> answered;
    for (const v1::RecordResult& result : response.results()) answered.insert(result.position());
    std::vector<v1::ReceiptBody> bodies;
    for (int i = 0; i < batch.leaves_size(); ++i) {
      if (answered.count(i)) continue;
      v1::ReceiptBody& body = bodies.emplace_back();
      body.set_format_version(1);
      body.set_record_id(batch.leaves(i).record_id());
      body.set_digest(batch.leaves(i).digest());
      body.set_received_at(response.commitment_batch_receipt().received_at());
      body.set_server_key_id(response.commitment_batch_receipt().server_key_id());
    }
    return crypto::VerifyBatchReceipts(bodies, response.commitment_batch_receipt().signature(),
                                       server_key, crypto::ReceiptKind::kCommitment);
  }
};

TEST_P(CoreTest, CommitmentBatchIsAnsweredWithOneReceiptAndKeepsTheDevicesWord) {
  SetUpWorld();
  std::vector<v1::Envelope> envelopes;
  for (int i = 0; i < 5; ++i) envelopes.push_back(Seal(monitor_a_, alpha_));
  const v1::CommitmentBatch batch = CommitmentBatchFixture::Of(envelopes, monitor_a_.signing);
  auto committed = Must(core_->ingest().CommitLeaves(monitor_a_session_, batch), "commit");
  EXPECT_EQ(committed.fresh, (std::vector<int>{0, 1, 2, 3, 4}));
  const v1::UploadResponse response = CompactCommitmentResponse(7, committed);
  EXPECT_EQ(response.batch_id(), 7u);
  EXPECT_EQ(response.results_size(), 0);
  auto receipts = CommitmentBatchFixture::Rebuild(batch, response, receipt_key_.public_key());
  ASSERT_TRUE(receipts.ok()) << receipts.status();
  // It says less than a full receipt, and cannot pass for one.
  EXPECT_EQ(crypto::VerifyReceipt((*receipts)[2], receipt_key_.public_key(), RecordId(envelopes[2]),
                                  crypto::RecordDigest(envelopes[2]))
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  // Each row keeps the device's own signed leaf, checkable on its own.
  for (const v1::Envelope& envelope : envelopes) {
    auto row = Must(
        core_->registry().store().Get(keys::Commitment(monitor_a_.id, RecordId(envelope))), "row");
    ASSERT_TRUE(row.has_value());
    v1::StoredCommitment stored;
    ASSERT_TRUE(stored.ParseFromString(*row));
    EXPECT_TRUE(
        crypto::VerifyCommitmentProof(stored.proof(), monitor_a_.signing.public_key()).ok());
    EXPECT_EQ(stored.proof().leaf().device_seq(),
              Must(crypto::VerifyRecord(envelope, monitor_a_.signing.public_key()), "v")
                  .header.device_seq());
  }
  // The bodies follow and match their commitments: receipted, no conflict.
  for (const v1::Envelope& envelope : envelopes) UploadOne(monitor_a_session_, envelope);
  EXPECT_TRUE(KeysWithPrefix("cfl/").empty());
}

// A batch another key signed, or one altered after signing, is refused whole, before
// anything is written: the server keeps no commitment the device did not make.
TEST_P(CoreTest, ForgedOrAlteredCommitmentBatchIsRefusedWhole) {
  SetUpWorld();
  std::vector<v1::Envelope> envelopes = {Seal(monitor_a_, alpha_), Seal(monitor_a_, alpha_)};
  const v1::CommitmentBatch forged = CommitmentBatchFixture::Of(envelopes, monitor_b_.signing);
  const std::map<std::string, std::string> before = Dump();
  EXPECT_EQ(core_->ingest().CommitLeaves(monitor_a_session_, forged).status().code(),
            StatusCode::kUnauthenticated);
  v1::CommitmentBatch altered = CommitmentBatchFixture::Of(envelopes, monitor_a_.signing);
  altered.mutable_leaves(1)->set_device_seq(999);
  EXPECT_EQ(core_->ingest().CommitLeaves(monitor_a_session_, altered).status().code(),
            StatusCode::kUnauthenticated);
  v1::CommitmentBatch truncated = CommitmentBatchFixture::Of(envelopes, monitor_a_.signing);
  truncated.mutable_leaves(0)->mutable_digest()->resize(31);
  EXPECT_EQ(core_->ingest().CommitLeaves(monitor_a_session_, truncated).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(core_->ingest().CommitLeaves(monitor_a_session_, v1::CommitmentBatch()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Dump(), before);
}

TEST_P(CoreTest, CommitmentBatchIsRefusedToWrongRolesRevokedDevicesAndOversize) {
  SetUpWorld();
  std::vector<v1::Envelope> envelopes = {Seal(monitor_a_, alpha_)};
  const v1::CommitmentBatch batch = CommitmentBatchFixture::Of(envelopes, monitor_a_.signing);
  EXPECT_EQ(core_->ingest().CommitLeaves(reviewer_a_session_, batch).status().code(),
            StatusCode::kPermissionDenied);
  std::vector<v1::Envelope> many;
  const size_t limit = core_->ingest().limits().max_commitments_per_batch;
  for (size_t i = 0; i <= limit; ++i) many.push_back(envelopes[0]);
  EXPECT_EQ(
      core_->ingest()
          .CommitLeaves(monitor_a_session_, CommitmentBatchFixture::Of(many, monitor_a_.signing))
          .status()
          .code(),
      StatusCode::kResourceExhausted);
  SetRevoked(monitor_a_.id, true);
  EXPECT_EQ(core_->ingest().CommitLeaves(monitor_a_session_, batch).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(KeysWithPrefix("cmt/").empty());
}

// Sent again (a reconnection after a cut): the same receipts, each in a result of its
// own now, and no new row; mixed with a stored record, a conflicting digest and a new
// leaf, each gets its own answer and only the new one is a leaf of the batch receipt.
TEST_P(CoreTest, CommitmentBatchAgainOrMixedGetsAnAnswerPerLeaf) {
  SetUpWorld();
  std::vector<v1::Envelope> first = {Seal(monitor_a_, alpha_), Seal(monitor_a_, alpha_)};
  const v1::CommitmentBatch batch = CommitmentBatchFixture::Of(first, monitor_a_.signing);
  auto once = Must(core_->ingest().CommitLeaves(monitor_a_session_, batch), "once");
  auto again = Must(core_->ingest().CommitLeaves(monitor_a_session_, batch), "again");
  EXPECT_TRUE(again.fresh.empty());
  const v1::UploadResponse replayed = CompactCommitmentResponse(2, again);
  ASSERT_EQ(replayed.results_size(), 2);
  EXPECT_FALSE(replayed.has_commitment_batch_receipt());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(replayed.results(i).position(), static_cast<uint32_t>(i));
    EXPECT_TRUE(replayed.results(i).record_id().empty());
    EXPECT_EQ(replayed.results(i).commitment_receipt().SerializeAsString(),
              once.results[i].commitment_receipt().SerializeAsString());
  }

  UploadOne(monitor_a_session_, first[0]);  // stored: a full receipt now
  crypto::SealParams changed = Params(monitor_a_, alpha_);
  changed.record_id = RecordId(first[1]);  // the same id, another digest
  std::vector<v1::Envelope> mixed = {first[0], Seal(changed, monitor_a_.signing),
                                     Seal(monitor_a_, alpha_)};
  const v1::CommitmentBatch mixed_batch = CommitmentBatchFixture::Of(mixed, monitor_a_.signing);
  auto answer = Must(core_->ingest().CommitLeaves(monitor_a_session_, mixed_batch), "mixed");
  EXPECT_EQ(answer.fresh, std::vector<int>{2});
  const v1::UploadResponse response = CompactCommitmentResponse(3, answer);
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_TRUE(response.results(0).has_receipt());
  EXPECT_EQ(response.results(1).code(), Code(StatusCode::kFailedPrecondition));
  auto receipts = CommitmentBatchFixture::Rebuild(mixed_batch, response, receipt_key_.public_key());
  ASSERT_TRUE(receipts.ok()) << receipts.status();
  EXPECT_EQ(receipts->size(), 1u);
}

// A record named twice in one batch: the same digest gets the first leaf's answer in a
// result of its own; another digest is refused.
TEST_P(CoreTest, CommitmentBatchNamingARecordTwice) {
  SetUpWorld();
  v1::Envelope one = Seal(monitor_a_, alpha_);
  crypto::SealParams changed = Params(monitor_a_, alpha_);
  changed.record_id = RecordId(one);
  std::vector<v1::Envelope> twice = {one, one, Seal(changed, monitor_a_.signing)};
  const v1::CommitmentBatch batch = CommitmentBatchFixture::Of(twice, monitor_a_.signing);
  auto answer = Must(core_->ingest().CommitLeaves(monitor_a_session_, batch), "twice");
  EXPECT_EQ(answer.fresh, std::vector<int>{0});
  const v1::UploadResponse response = CompactCommitmentResponse(4, answer);
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).position(), 1u);
  EXPECT_EQ(response.results(0).commitment_receipt().SerializeAsString(),
            answer.results[0].commitment_receipt().SerializeAsString());
  EXPECT_EQ(response.results(1).code(), Code(StatusCode::kFailedPrecondition));
  EXPECT_TRUE(CommitmentBatchFixture::Rebuild(batch, response, receipt_key_.public_key()).ok());
}

// What monitor A is told about its record (commitment and body) is byte-identical
// whether a device of another project already stored that id or an unrelated one.
TEST_P(CoreTest, AnswersDoNotRevealWhetherAnotherDeviceUsedTheId) {
  SetUpWorld();
  crypto::SealParams own = Params(monitor_a_, alpha_);
  v1::Envelope mine = Seal(own, monitor_a_.signing);
  crypto::SealParams other = Params(monitor_b_, beta_);
  const std::map<std::string, std::string> before = Dump();
  auto answers_after_b_uses = [&](const std::string& b_record_id) {
    // Back to the same state, with a fresh core (its log size and rate counters too).
    WriteBatch reset;
    for (const auto& [key, value] : Dump()) {
      if (!before.contains(key)) reset.Delete(key);
    }
    for (const auto& [key, value] : before) reset.Put(key, value);
    EXPECT_TRUE(store_->Commit(reset).ok());
    StartCore();
    crypto::SealParams params = other;
    params.record_id = b_record_id;
    v1::Envelope theirs = Seal(params, monitor_b_.signing);
    google::protobuf::RepeatedPtrField<v1::Commitment> b_commitment;
    *b_commitment.Add() = crypto::MakeCommitment(theirs);
    EXPECT_EQ(Must(core_->ingest().CommitBatch(monitor_b_session_, b_commitment), "b")[0].code(),
              0);
    UploadOne(monitor_b_session_, theirs);
    google::protobuf::RepeatedPtrField<v1::Commitment> a_commitment;
    *a_commitment.Add() = crypto::MakeCommitment(mine);
    // In batch form first (committed anew), then as a lone commitment (answered from
    // the row the batch made).
    const v1::CommitmentBatch a_batch = CommitmentBatchFixture::Of({mine}, monitor_a_.signing);
    std::string answers =
        CompactCommitmentResponse(
            1, Must(core_->ingest().CommitLeaves(monitor_a_session_, a_batch), "a batch"))
            .SerializeAsString();
    for (const v1::RecordResult& r :
         Must(core_->ingest().CommitBatch(monitor_a_session_, a_commitment), "a commit")) {
      answers += r.SerializeAsString();
    }
    std::string signature;
    google::protobuf::RepeatedPtrField<v1::Envelope> a_body;
    *a_body.Add() = mine;
    auto results = Must(core_->ingest().UploadBatch(monitor_a_session_, a_body, &signature), "a");
    answers +=
        CompactUploadResponse(1, results, signature, /*positional=*/true).SerializeAsString();
    return answers;
  };
  const std::string unrelated = answers_after_b_uses(crypto::RandomBytes(crypto::kRecordIdBytes));
  const std::string same_id = answers_after_b_uses(own.record_id);
  EXPECT_FALSE(unrelated.empty());
  EXPECT_EQ(unrelated, same_id);
}

// A reviewer's attachment download is audited before any byte is sent, like a record
// fetch, and the audit chain still verifies.
TEST_P(CoreTest, AttachmentDownloadWritesAnAuditEntryAndTheChainVerifies) {
  SetUpWorld();
  crypto::SecretBuffer key = crypto::SecretBuffer::Random(32);
  v1::AttachmentRef ref;
  ref.set_blob_id(crypto::RandomBytes(16));
  std::string stream =
      Must(crypto::EncryptAttachment(key, ref.blob_id(), "synthetic photo bytes"), "encrypt");
  ref.set_size(stream.size());
  std::string hash(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(hash.data()), hash.size(),
                     reinterpret_cast<const unsigned char*>(stream.data()), stream.size(), nullptr,
                     0);
  ref.set_ciphertext_hash(hash);
  crypto::SealParams params = Params(monitor_a_, alpha_);
  params.attachments = {ref};
  v1::Envelope envelope = Seal(params, monitor_a_.signing);
  ASSERT_TRUE(Must(Upload(monitor_a_session_, {envelope}), "upload")[0].awaiting_attachments());
  v1::AttachmentChunk chunk;
  chunk.set_record_id(params.record_id);
  chunk.set_blob_id(ref.blob_id());
  chunk.set_data(stream);
  ASSERT_TRUE(
      Must(core_->attachments().UploadChunk(monitor_a_session_, chunk), "chunk").has_receipt());

  const uint64_t before = Must(core_->audit().Read(0, 1), "audit").head_size();
  v1::FetchAttachmentRequest request;
  request.set_record_id(params.record_id);
  request.set_blob_id(ref.blob_id());
  std::string downloaded;
  ASSERT_TRUE(core_->attachments()
                  .Fetch(reviewer_a_session_, request,
                         [&](const v1::AttachmentChunk& slice) {
                           downloaded += slice.data();
                           return true;
                         })
                  .ok());
  EXPECT_EQ(downloaded, stream);
  // Another project's reviewer gets nothing, and leaves no entry of a download.
  EXPECT_EQ(
      core_->attachments()
          .Fetch(reviewer_b_session_, request, [](const v1::AttachmentChunk&) { return true; })
          .code(),
      StatusCode::kNotFound);

  v1::GetAuditLogResponse log = Must(core_->audit().Read(0, 10000), "audit");
  ASSERT_EQ(log.head_size(), before + 1);
  v1::AuditEntry last;
  ASSERT_TRUE(last.ParseFromString(log.entries(log.entries_size() - 1)));
  EXPECT_EQ(last.action(), "attachment.fetch");
  EXPECT_EQ(last.actor_device_id(), reviewer_a_.id);
  EXPECT_EQ(last.object(), params.record_id);
  EXPECT_EQ(last.project(), "alpha");
  // The chain: every entry hashed onto the previous, up to the signed head.
  std::string chain = log.previous_hash();
  for (const std::string& entry : log.entries()) chain = AuditChainHash(chain, entry);
  EXPECT_EQ(chain, log.head_hash());
  EXPECT_TRUE(crypto::VerifySignature(receipt_key_.public_key(), kAuditHeadContext,
                                      AuditHeadMessage(log.head_size(), log.head_hash()),
                                      log.head_signature())
                  .ok());
}

TEST_P(CoreTest, RecordSignedByAnotherDeviceIsUnauthenticated) {
  SetUpWorld();
  FakeDevice other_monitor = EnrollMember(v1::ROLE_MONITOR, "alpha");
  // Names monitor A, signed (validly) by another device's key.
  v1::Envelope forged = Seal(Params(monitor_a_, alpha_), other_monitor.signing);
  std::map<std::string, std::string> before = Dump();
  auto results = Must(Upload(monitor_a_session_, {forged}), "upload");
  EXPECT_EQ(results[0].code(), Code(StatusCode::kUnauthenticated));
  EXPECT_FALSE(results[0].has_receipt());
  EXPECT_EQ(Dump(), before);
}

TEST_P(CoreTest, RecordNamingAnotherDeviceOrProjectIsPermissionDenied) {
  SetUpWorld();
  crypto::SealParams other_device = Params(monitor_a_, alpha_);
  other_device.device_id = monitor_b_.id;
  crypto::SealParams other_project = Params(monitor_a_, alpha_);
  other_project.project_id = beta_.id;
  crypto::SealParams other_project_all = Params(monitor_a_, beta_);  // beta id and key
  crypto::SealParams stray_key = Params(monitor_a_, alpha_);
  stray_key.recipients = {{crypto::BoxKeyPair::Generate().public_key(), 1}};
  crypto::SealParams foreign_key = Params(monitor_a_, alpha_);
  foreign_key.recipients = {{beta_.epoch_key.public_key(), 1}};
  crypto::SealParams extra_key = Params(monitor_a_, alpha_);
  extra_key.recipients.push_back({beta_.epoch_key.public_key(), 1});
  crypto::SealParams wrong_epoch = Params(monitor_a_, alpha_);
  wrong_epoch.recipients = {{alpha_.epoch_key.public_key(), 2}};
  std::vector<v1::Envelope> batch;
  for (const crypto::SealParams* p : {&other_device, &other_project, &other_project_all, &stray_key,
                                      &foreign_key, &extra_key, &wrong_epoch}) {
    batch.push_back(Seal(*p, monitor_a_.signing));
  }
  std::map<std::string, std::string> before = Dump();
  auto results = Must(Upload(monitor_a_session_, batch), "upload");
  ASSERT_EQ(results.size(), batch.size());
  for (size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(results[i].code(), Code(StatusCode::kPermissionDenied)) << results[i].message();
    EXPECT_FALSE(results[i].has_receipt());
  }
  EXPECT_EQ(results[0].message(), "record was made by another device");
  EXPECT_EQ(results[1].message(), "record belongs to another project");
  EXPECT_EQ(results[3].message(), "record is sealed to a key this project does not have");
  EXPECT_EQ(Dump(), before);
}

TEST_P(CoreTest, BadRecordsDoNotStopGoodOnesInTheSameBatch) {
  SetUpWorld();
  v1::Envelope good1 = Seal(monitor_a_, alpha_);
  v1::Envelope bad = Seal(monitor_a_, alpha_);
  bad.set_signature(Flip(bad.signature(), 0, 1));
  v1::Envelope good2 = Seal(monitor_a_, alpha_);
  auto results = Must(Upload(monitor_a_session_, {good1, bad, good2}), "upload");
  EXPECT_EQ(results[0].code(), 0);
  EXPECT_EQ(results[1].code(), Code(StatusCode::kUnauthenticated));
  EXPECT_EQ(results[2].code(), 0);
  EXPECT_TRUE(Must(core_->registry().RecordsWithId(RecordId(bad)), "record").empty());
  EXPECT_EQ(KeysWithPrefix("log/").size(), 2u);
}

TEST_P(CoreTest, FlippedBitsAnywhereAreRejectedAndNothingIsStored) {
  SetUpWorld();
  const v1::Envelope envelope = Seal(monitor_a_, alpha_);
  std::vector<v1::Envelope> tampered;
  for (size_t i = 0; i < envelope.header().size(); ++i) {
    v1::Envelope e = envelope;
    e.set_header(Flip(e.header(), i, static_cast<uint8_t>(1u << (i % 8))));
    tampered.push_back(e);
  }
  for (size_t i = 0; i < envelope.signature().size(); ++i) {
    v1::Envelope e = envelope;
    e.set_signature(Flip(e.signature(), i, static_cast<uint8_t>(1u << (i % 8))));
    tampered.push_back(e);
  }
  for (size_t i = 0; i < envelope.nonce().size(); ++i) {
    v1::Envelope e = envelope;
    e.set_nonce(Flip(e.nonce(), i, 0x10));
    tampered.push_back(e);
  }
  const size_t step = std::max<size_t>(1, envelope.ciphertext().size() / 64);
  for (size_t i = 0; i < envelope.ciphertext().size(); i += step) {
    v1::Envelope e = envelope;
    e.set_ciphertext(Flip(e.ciphertext(), i, static_cast<uint8_t>(1u << (i % 8))));
    tampered.push_back(e);
  }
  for (size_t i = 0; i < envelope.wrapped_keys(0).sealed().size(); i += 7) {
    v1::Envelope e = envelope;
    e.mutable_wrapped_keys(0)->set_sealed(Flip(e.wrapped_keys(0).sealed(), i, 0x02));
    tampered.push_back(e);
  }
  std::map<std::string, std::string> before = Dump();
  for (size_t start = 0; start < tampered.size(); start += 200) {
    std::vector<v1::Envelope> chunk(tampered.begin() + start,
                                    tampered.begin() + std::min(tampered.size(), start + 200));
    auto results = Must(Upload(monitor_a_session_, chunk), "upload");
    for (size_t i = 0; i < results.size(); ++i) {
      SCOPED_TRACE(start + i);
      EXPECT_NE(results[i].code(), 0);
      EXPECT_FALSE(results[i].has_receipt());
    }
  }
  EXPECT_EQ(Dump(), before);
  EXPECT_EQ(UploadOne(monitor_a_session_, envelope).log_index(), 1u);  // the original is fine
}

TEST_P(CoreTest, BatchOverTheLimitIsResourceExhausted) {
  SetUpWorld();
  std::vector<v1::Envelope> batch(257, Seal(monitor_a_, alpha_));
  absl::StatusOr<std::vector<v1::RecordResult>> results = Upload(monitor_a_session_, batch);
  EXPECT_EQ(results.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(KeysWithPrefix("rec/").empty());
}

TEST_P(CoreTest, ReviewerOrAdminCannotUpload) {
  SetUpWorld();
  // Even a record that names the caller and is validly signed by it.
  crypto::SealParams params = Params(reviewer_a_, alpha_);
  v1::Envelope own = Seal(params, reviewer_a_.signing);
  for (const Session* session : {&reviewer_a_session_, &admin_session_}) {
    absl::StatusOr<std::vector<v1::RecordResult>> results = Upload(*session, {own});
    EXPECT_EQ(results.status().code(), StatusCode::kPermissionDenied);
  }
  EXPECT_TRUE(KeysWithPrefix("rec/").empty());
}

TEST_P(CoreTest, RestartContinuesTheLogAndKeepsReceipts) {
  SetUpWorld();
  v1::Envelope first = Seal(monitor_a_, alpha_);
  auto receipt = Must(Upload(monitor_a_session_, {first}), "upload")[0].receipt();
  UploadOne(monitor_a_session_, Seal(monitor_a_, alpha_));
  if (GetParam() == StoreKind::kRocks) {
    core_.reset();
    store_.reset();
    store_ = Must(RocksStore::Open(dir_ + "/db"), "reopen");
  }
  StartCore();
  Session session = SignIn(monitor_a_);
  auto again = Must(Upload(session, {first}), "again");
  EXPECT_EQ(again[0].receipt().SerializeAsString(), receipt.SerializeAsString());
  EXPECT_EQ(UploadOne(session, Seal(monitor_a_, alpha_)).log_index(), 3u);
}

// A revocation that lands between the token check and the batch commit must win: the
// batch is refused and the device row is not rewritten from the stale session.
TEST_P(CoreTest, UploadWithStaleSessionDoesNotUndoRevocation) {
  SetUpWorld();
  Session stale = monitor_a_session_;
  SetRevoked(monitor_a_.id, true);
  EXPECT_EQ(Upload(stale, {Seal(monitor_a_, alpha_)}).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(Must(core_->registry().Device(monitor_a_.id), "device")->revoked());
}

// A resumed outbox may send older records after newer ones; highest_seq only grows.
TEST_P(CoreTest, HighestSeqNeverGoesBackwardsWithinOneSession) {
  SetUpWorld();
  v1::Envelope older = Seal(monitor_a_, alpha_);  // seq 1
  v1::Envelope newer = Seal(monitor_a_, alpha_);  // seq 2
  UploadOne(monitor_a_session_, newer);
  UploadOne(monitor_a_session_, older);
  EXPECT_EQ(Must(core_->registry().Device(monitor_a_.id), "device")->highest_seq(), 2u);
}

class MemoryCoreTest : public CoreTest {};
INSTANTIATE_TEST_SUITE_P(Memory, MemoryCoreTest, ::testing::Values(StoreKind::kMemory), StoreName);

TEST_P(MemoryCoreTest, FullDiskFailsTheCallAndRetryKeepsTheLogDense) {
  SetUpWorld();
  ASSERT_NE(memory_, nullptr);
  EXPECT_EQ(UploadOne(monitor_a_session_, Seal(monitor_a_, alpha_)).log_index(), 1u);
  std::vector<v1::Envelope> batch = {Seal(monitor_a_, alpha_), Seal(monitor_a_, alpha_)};
  std::map<std::string, std::string> before = Dump();

  memory_->SetFull(true);
  absl::StatusOr<std::vector<v1::RecordResult>> refused = Upload(monitor_a_session_, batch);
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Dump(), before);
  memory_->SetFull(false);

  auto results = Must(Upload(monitor_a_session_, batch), "retry");
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_EQ(results[i].code(), 0) << results[i].message();
    auto body = Must(crypto::VerifyReceipt(results[i].receipt(), receipt_key_.public_key(),
                                           RecordId(batch[i]), crypto::RecordDigest(batch[i])),
                     "receipt");
    EXPECT_EQ(body.log_index(), i + 2);
  }
  std::vector<std::string> log = KeysWithPrefix("log/");
  ASSERT_EQ(log.size(), 3u);
  for (size_t i = 0; i < log.size(); ++i) EXPECT_EQ(log[i], keys::Log(i + 1));
}

// ---------------------------------------------------------------- review

TEST_P(CoreTest, ReviewerListsAndFetchesExactlyItsProjectsRecords) {
  SetUpWorld();
  std::map<std::string, v1::Envelope> alpha_records, beta_records;
  for (int i = 0; i < 3; ++i) {
    v1::Envelope a = Seal(monitor_a_, alpha_);
    v1::Envelope b = Seal(monitor_b_, beta_);
    UploadOne(monitor_a_session_, a);
    UploadOne(monitor_b_session_, b);
    alpha_records[RecordId(a)] = a;
    beta_records[RecordId(b)] = b;
  }
  auto list = Must(core_->review().ListRecords(reviewer_a_session_, {}), "list");
  EXPECT_FALSE(list.more());
  ASSERT_EQ(list.records_size(), 3);
  v1::FetchRecordsRequest fetch;
  uint64_t previous = 0;
  for (const v1::RecordSummary& summary : list.records()) {
    EXPECT_EQ(alpha_records.count(summary.record_id()), 1u);
    EXPECT_EQ(beta_records.count(summary.record_id()), 0u);
    EXPECT_EQ(summary.project(), "alpha");
    EXPECT_EQ(summary.device_id(), monitor_a_.id);
    EXPECT_GT(summary.log_index(), previous);
    previous = summary.log_index();
    fetch.add_record_ids(summary.record_id());
  }
  auto fetched = Must(core_->review().FetchRecords(reviewer_a_session_, fetch), "fetch");
  ASSERT_EQ(fetched.size(), 3u);
  for (const v1::FetchedRecord& record : fetched) {
    const v1::Envelope& original = alpha_records.at(record.summary().record_id());
    EXPECT_EQ(record.envelope().SerializeAsString(), original.SerializeAsString());
    EXPECT_EQ(record.device_signing_key(), monitor_a_.signing.public_key());
    EXPECT_TRUE(crypto::VerifyRecord(record.envelope(), record.device_signing_key()).ok());
    EXPECT_TRUE(crypto::VerifyReceipt(record.receipt(), receipt_key_.public_key(),
                                      record.summary().record_id(), crypto::RecordDigest(original))
                    .ok());
  }

  // A foreign id and a nonexistent id are indistinguishable.
  v1::FetchRecordsRequest foreign;
  foreign.add_record_ids(beta_records.begin()->first);
  absl::Status foreign_status = core_->review().FetchRecords(reviewer_a_session_, foreign).status();
  v1::FetchRecordsRequest missing;
  missing.add_record_ids(crypto::RandomBytes(crypto::kRecordIdBytes));
  absl::Status missing_status = core_->review().FetchRecords(reviewer_a_session_, missing).status();
  EXPECT_EQ(foreign_status.code(), StatusCode::kNotFound);
  EXPECT_EQ(foreign_status, missing_status);
  EXPECT_EQ(foreign_status.message(), kNotGranted);

  // One foreign id among own ones: nothing is returned.
  fetch.add_record_ids(beta_records.begin()->first);
  EXPECT_EQ(core_->review().FetchRecords(reviewer_a_session_, fetch).status().code(),
            StatusCode::kNotFound);
}

TEST_P(CoreTest, ReviewerOpensFetchedRecordWithGrantedSecret) {
  SetUpWorld();
  v1::Envelope envelope = Seal(monitor_a_, alpha_);
  UploadOne(monitor_a_session_, envelope);
  auto grants = Must(core_->review().GetGrants(reviewer_a_session_), "grants");
  ASSERT_EQ(grants.grants_size(), 1);
  crypto::BoxKeyPair epoch_key =
      Must(crypto::UnwrapEpochSecret(grants.grants(0).sealed_secret(), reviewer_a_.box, alpha_.id,
                                     1, alpha_.epoch_key.public_key()),
           "unwrap");
  v1::FetchRecordsRequest fetch;
  fetch.add_record_ids(RecordId(envelope));
  auto fetched = Must(core_->review().FetchRecords(reviewer_a_session_, fetch), "fetch");
  ASSERT_EQ(fetched.size(), 1u);
  v1::Testimony testimony = Must(crypto::OpenRecord(fetched[0].envelope(), epoch_key), "open");
  EXPECT_EQ(testimony.SerializeAsString(), SyntheticTestimony(1).SerializeAsString());
  // The other project's reviewer cannot open it even with the bytes in hand.
  EXPECT_FALSE(crypto::OpenRecord(envelope, beta_.epoch_key).ok());
}

TEST_P(CoreTest, ListRecordsPaginatesInLogOrder) {
  SetUpWorld();
  std::vector<uint64_t> alpha_indexes;
  for (int i = 0; i < 7; ++i) {
    alpha_indexes.push_back(UploadOne(monitor_a_session_, Seal(monitor_a_, alpha_)).log_index());
    if (i % 2 == 0) UploadOne(monitor_b_session_, Seal(monitor_b_, beta_));
  }
  std::vector<uint64_t> seen;
  v1::ListRecordsRequest request;
  request.set_limit(3);
  int pages = 0;
  while (true) {
    auto page = Must(core_->review().ListRecords(reviewer_a_session_, request), "page");
    ++pages;
    EXPECT_LE(page.records_size(), 3);
    for (const v1::RecordSummary& summary : page.records()) seen.push_back(summary.log_index());
    if (!page.more()) break;
    ASSERT_GT(page.records_size(), 0);
    request.set_after_log_index(page.records(page.records_size() - 1).log_index());
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(seen, alpha_indexes);
  EXPECT_EQ(pages, 3);

  // after_log_index is exclusive and need not be one of the project's indexes.
  request.set_limit(0);
  request.set_after_log_index(alpha_indexes[2]);
  auto tail = Must(core_->review().ListRecords(reviewer_a_session_, request), "tail");
  ASSERT_EQ(tail.records_size(), 4);
  EXPECT_EQ(tail.records(0).log_index(), alpha_indexes[3]);
  request.set_after_log_index(alpha_indexes[2] + 1);  // a beta index or past alpha's third
  auto tail2 = Must(core_->review().ListRecords(reviewer_a_session_, request), "tail2");
  EXPECT_EQ(tail2.records(0).log_index(), alpha_indexes[3]);
  request.set_after_log_index(alpha_indexes.back());
  auto none = Must(core_->review().ListRecords(reviewer_a_session_, request), "none");
  EXPECT_EQ(none.records_size(), 0);
  EXPECT_FALSE(none.more());

  // Exactly `limit` records left: no phantom next page.
  request.set_after_log_index(alpha_indexes[3]);
  request.set_limit(3);
  auto last = Must(core_->review().ListRecords(reviewer_a_session_, request), "last");
  EXPECT_EQ(last.records_size(), 3);
  EXPECT_FALSE(last.more());
}

TEST_P(CoreTest, ReviewerGrantedTwoProjectsGetsMergedLogOrder) {
  SetUpWorld();
  Grant(reviewer_a_, beta_);
  std::vector<uint64_t> expected;
  for (int i = 0; i < 5; ++i) {
    expected.push_back(UploadOne(monitor_b_session_, Seal(monitor_b_, beta_)).log_index());
    expected.push_back(UploadOne(monitor_a_session_, Seal(monitor_a_, alpha_)).log_index());
  }
  std::vector<uint64_t> seen;
  v1::ListRecordsRequest request;
  request.set_limit(4);
  for (int pages = 0; pages < 10; ++pages) {
    auto page = Must(core_->review().ListRecords(reviewer_a_session_, request), "page");
    for (const v1::RecordSummary& summary : page.records()) seen.push_back(summary.log_index());
    if (!page.more()) break;
    request.set_after_log_index(seen.back());
  }
  EXPECT_EQ(seen, expected);
}

TEST_P(CoreTest, MonitorAndAdminCannotReview) {
  SetUpWorld();
  v1::Envelope envelope = Seal(monitor_a_, alpha_);
  UploadOne(monitor_a_session_, envelope);
  v1::FetchRecordsRequest fetch;
  fetch.add_record_ids(RecordId(envelope));
  for (const Session* session : {&monitor_a_session_, &admin_session_}) {
    EXPECT_EQ(core_->review().ListRecords(*session, {}).status().code(),
              StatusCode::kPermissionDenied);
    EXPECT_EQ(core_->review().FetchRecords(*session, fetch).status().code(),
              StatusCode::kPermissionDenied);
    EXPECT_EQ(core_->review().GetGrants(*session).status().code(), StatusCode::kPermissionDenied);
  }
}

TEST_P(CoreTest, ReviewerWithoutGrantSeesNothing) {
  SetUpWorld();
  UploadOne(monitor_a_session_, Seal(monitor_a_, alpha_));
  FakeDevice ungranted = EnrollMember(v1::ROLE_REVIEWER, "alpha");
  Session session = SignIn(ungranted);
  auto list = Must(core_->review().ListRecords(session, {}), "list");
  EXPECT_EQ(list.records_size(), 0);
  EXPECT_EQ(Must(core_->review().GetGrants(session), "grants").grants_size(), 0);
}

TEST_P(CoreTest, FetchOfMoreThan256IdsIsResourceExhausted) {
  SetUpWorld();
  v1::FetchRecordsRequest fetch;
  for (int i = 0; i < ReviewOps::kMaxFetchIds + 1; ++i) {
    fetch.add_record_ids(crypto::RandomBytes(crypto::kRecordIdBytes));
  }
  EXPECT_EQ(core_->review().FetchRecords(reviewer_a_session_, fetch).status().code(),
            StatusCode::kResourceExhausted);
  fetch.mutable_record_ids()->RemoveLast();
  EXPECT_EQ(core_->review().FetchRecords(reviewer_a_session_, fetch).status().code(),
            StatusCode::kNotFound);
  v1::FetchRecordsRequest malformed;
  malformed.add_record_ids("short");
  EXPECT_EQ(core_->review().FetchRecords(reviewer_a_session_, malformed).status().code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- randomised access

// 2,000 seeded cases of (caller role x own/foreign project x operation). Whatever the
// case, no record of a project the caller is not granted ever comes back, and what does
// come back is byte-identical to what was uploaded.
TEST_P(CoreTest, RandomisedAccessNeverReturnsForeignRecords) {
  SetUpWorld();
  FakeDevice ungranted = EnrollMember(v1::ROLE_REVIEWER, "beta");
  Session ungranted_session = SignIn(ungranted);

  struct Stored {
    std::string project;
    uint64_t log_index;
    std::string bytes;
  };
  std::map<std::string, Stored> records;  // by record id
  auto upload = [&](FakeDevice& monitor, const Session& session, const FakeProject& project) {
    v1::Envelope envelope = Seal(monitor, project);
    uint64_t index = UploadOne(session, envelope).log_index();
    records[RecordId(envelope)] = {project.name, index, envelope.SerializeAsString()};
  };
  for (int i = 0; i < 6; ++i) {
    upload(monitor_a_, monitor_a_session_, alpha_);
    upload(monitor_b_, monitor_b_session_, beta_);
  }

  struct Caller {
    const char* name;
    const Session* session;
    FakeDevice* device;
    std::set<std::string> readable;  // projects whose records it may read
    std::string own_project;         // for "own" cases; empty for admin
  };
  std::vector<Caller> callers = {
      {"admin", &admin_session_, &admin_, {}, ""},
      {"monitor-a", &monitor_a_session_, &monitor_a_, {}, "alpha"},
      {"monitor-b", &monitor_b_session_, &monitor_b_, {}, "beta"},
      {"reviewer-a", &reviewer_a_session_, &reviewer_a_, {"alpha"}, "alpha"},
      {"reviewer-b", &reviewer_b_session_, &reviewer_b_, {"beta"}, "beta"},
      {"reviewer-none", &ungranted_session, &ungranted, {}, "beta"},
  };
  const FakeProject* projects[] = {&alpha_, &beta_};

  std::mt19937 rng(20260314);
  auto pick_id = [&](const std::string& project) {
    std::vector<std::string> ids;
    for (const auto& [id, stored] : records) {
      if (stored.project == project) ids.push_back(id);
    }
    return ids[rng() % ids.size()];
  };
  auto check_returned = [&](const Caller& caller, const std::string& id, const std::string& project,
                            const std::string* bytes) {
    auto it = records.find(id);
    ASSERT_NE(it, records.end());
    EXPECT_TRUE(caller.readable.contains(it->second.project)) << "foreign record returned";
    EXPECT_EQ(project, it->second.project);
    if (bytes != nullptr) {
      EXPECT_EQ(*bytes, it->second.bytes);
    }
  };

  constexpr int kCases = 2000;
  for (int n = 0; n < kCases; ++n) {
    Caller& caller = callers[rng() % callers.size()];
    bool own = rng() % 2 == 0;
    int op = static_cast<int>(rng() % 5);
    const FakeProject* target = (own && !caller.own_project.empty())
                                    ? (caller.own_project == "alpha" ? &alpha_ : &beta_)
                                    : projects[rng() % 2];
    if (!own && !caller.own_project.empty()) {
      target = caller.own_project == "alpha" ? &beta_ : &alpha_;
    }
    SCOPED_TRACE(absl::StrCat("case ", n, " caller ", caller.name, " own ", own, " op ", op,
                              " project ", target->name));
    bool may_read = caller.readable.contains(target->name);
    bool is_reviewer = caller.session->role() == v1::ROLE_REVIEWER;
    switch (op) {
      case 0: {  // list a random page
        v1::ListRecordsRequest request;
        request.set_after_log_index(rng() % (records.size() + 2));
        request.set_limit(rng() % 6);
        auto list = core_->review().ListRecords(*caller.session, request);
        if (!is_reviewer) {
          EXPECT_EQ(list.status().code(), StatusCode::kPermissionDenied);
          break;
        }
        ASSERT_TRUE(list.ok()) << list.status();
        std::vector<uint64_t> expected;
        for (const auto& [id, stored] : records) {
          if (caller.readable.contains(stored.project) &&
              stored.log_index > request.after_log_index()) {
            expected.push_back(stored.log_index);
          }
        }
        std::sort(expected.begin(), expected.end());
        size_t limit = request.limit() == 0 ? ReviewOps::kDefaultPageSize : request.limit();
        EXPECT_EQ(list->more(), expected.size() > limit);
        if (expected.size() > limit) expected.resize(limit);
        std::vector<uint64_t> got;
        for (const v1::RecordSummary& summary : list->records()) {
          check_returned(caller, summary.record_id(), summary.project(), nullptr);
          got.push_back(summary.log_index());
        }
        EXPECT_EQ(got, expected);
        break;
      }
      case 1:    // fetch one record of the target project
      case 2: {  // fetch several, mixing the target project with the caller's readable ones
        v1::FetchRecordsRequest request;
        request.add_record_ids(pick_id(target->name));
        if (op == 2) {
          for (const std::string& p : caller.readable) request.add_record_ids(pick_id(p));
          std::shuffle(request.mutable_record_ids()->begin(), request.mutable_record_ids()->end(),
                       rng);
        }
        auto fetched = core_->review().FetchRecords(*caller.session, request);
        if (!is_reviewer) {
          EXPECT_EQ(fetched.status().code(), StatusCode::kPermissionDenied);
          break;
        }
        if (!may_read) {
          EXPECT_EQ(fetched.status().code(), StatusCode::kNotFound);
          EXPECT_EQ(fetched.status().message(), kNotGranted);
          break;
        }
        ASSERT_TRUE(fetched.ok()) << fetched.status();
        ASSERT_EQ(fetched->size(), static_cast<size_t>(request.record_ids_size()));
        for (const v1::FetchedRecord& record : *fetched) {
          std::string bytes = record.envelope().SerializeAsString();
          check_returned(caller, record.summary().record_id(), record.summary().project(), &bytes);
        }
        break;
      }
      case 3: {  // grants
        auto grants = core_->review().GetGrants(*caller.session);
        if (!is_reviewer) {
          EXPECT_EQ(grants.status().code(), StatusCode::kPermissionDenied);
          break;
        }
        ASSERT_TRUE(grants.ok()) << grants.status();
        EXPECT_EQ(static_cast<size_t>(grants->grants_size()), caller.readable.size());
        for (const v1::Grant& grant : grants->grants()) {
          v1::ProjectKeyBody body;
          ASSERT_TRUE(body.ParseFromString(grant.key().body()));
          EXPECT_TRUE(caller.readable.contains(body.project_name()));
        }
        break;
      }
      case 4: {  // upload a record that claims the target project, signed by the caller
        crypto::SealParams params = Params(*caller.device, *target);
        v1::Envelope envelope = Seal(params, caller.device->signing);
        auto results = Upload(*caller.session, {envelope});
        bool is_monitor = caller.session->role() == v1::ROLE_MONITOR;
        if (!is_monitor) {
          EXPECT_EQ(results.status().code(), StatusCode::kPermissionDenied);
          break;
        }
        ASSERT_TRUE(results.ok()) << results.status();
        if (target->name != caller.own_project) {
          EXPECT_EQ((*results)[0].code(), Code(StatusCode::kPermissionDenied));
          EXPECT_TRUE(Must(core_->registry().RecordsWithId(params.record_id), "record").empty());
          break;
        }
        ASSERT_EQ((*results)[0].code(), 0) << (*results)[0].message();
        auto body = Must(crypto::VerifyReceipt((*results)[0].receipt(), receipt_key_.public_key(),
                                               params.record_id, crypto::RecordDigest(envelope)),
                         "receipt");
        records[params.record_id] = {target->name, body.log_index(), envelope.SerializeAsString()};
        break;
      }
    }
    if (HasFatalFailure() || ::testing::Test::HasFailure()) break;  // one clear failure
  }
  EXPECT_EQ(KeysWithPrefix("rec/").size(), records.size());
}

// The certificate is the reviewers' to check; the server checks it only so that a faulty
// client hears at once. A matching one is stored and listed; one for another role is not.
TEST_P(CoreTest, EnrolmentStoresAMatchingCertificateAndRefusesAnotherRolesOne) {
  BootstrapAdmin();
  FakeProject project = CreateProject("alpha");
  auto certified_request = [&](const FakeDevice& device, const std::string& token, v1::Role role) {
    crypto::SigningKey invite = crypto::SigningKey::Generate();
    v1::InviteAuthorisationBody body;
    body.set_role(role);
    body.set_project("alpha");
    body.set_project_id(project.id);
    body.set_invite_public_key(invite.public_key());
    body.set_token_hash(crypto::InviteTokenHash(token));
    v1::EnrollRequest request = device.EnrollRequest(token);
    *request.mutable_certificate() =
        crypto::IssueDeviceCertificate(crypto::SignInviteAuthorisation(body, *admin_.org), invite,
                                       device.signing, device.box.public_key());
    return request;
  };

  FakeDevice impostor;
  std::string monitor_token = InviteToken(v1::ROLE_MONITOR, "alpha");
  absl::StatusOr<v1::EnrollResponse> refused =
      core_->enrollment().Enroll(certified_request(impostor, monitor_token, v1::ROLE_REVIEWER));
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), "device certificate does not match this enrolment");

  FakeDevice monitor;
  v1::EnrollRequest request = certified_request(monitor, monitor_token, v1::ROLE_MONITOR);
  ASSERT_TRUE(core_->enrollment().Enroll(request).ok());
  v1::ListDevicesResponse devices = Must(core_->admin().ListDevices(admin_session_), "list");
  int certified = 0;
  for (const v1::DeviceInfo& device : devices.devices()) {
    if (device.device_id() != monitor.ExpectedId()) continue;
    EXPECT_EQ(device.certificate().SerializeAsString(), request.certificate().SerializeAsString());
    ++certified;
  }
  EXPECT_EQ(certified, 1);
}

// Issue 13, the attempt: an upload stream's closing request gets the proofs of what the
// stream receipted (bodies, a duplicate's whole receipt) and of what the device names
// (owed from before), in one joint proof that verifies against the checkpoint; the
// device need not make a GetLogProofs call after its upload.
TEST_P(CoreTest, UploadStreamClosesWithOneProofOfWhatItReceiptedAndWhatWasAskedFor) {
  SetUpWorld();
  CountingMetrics metrics;
  core_->set_metrics(&metrics);
  crypto::SigningKey log_key = crypto::SigningKey::Generate();
  core_->set_log_key(
      Must(crypto::SigningKey::FromSecretKey(log_key.secret_key().ExposeSecret()), "log key"));
  // Other leaves around, so that the proof is not trivial.
  for (int i = 0; i < 5; ++i) UploadOne(monitor_b_session_, Seal(monitor_b_, beta_));
  const v1::Envelope owed = Seal(monitor_a_, alpha_);
  const uint64_t owed_index = UploadOne(monitor_a_session_, owed).log_index();
  for (int i = 0; i < 3; ++i) UploadOne(monitor_b_session_, Seal(monitor_b_, beta_));

  UploadStream stream(*core_);
  std::vector<v1::Envelope> sent = {Seal(monitor_a_, alpha_), Seal(monitor_a_, alpha_)};
  v1::UploadRequest bodies;
  bodies.set_batch_id(0);
  bodies.set_positional_results(true);
  for (const v1::Envelope& e : sent) *bodies.add_records() = e;
  Must(stream.Answer(monitor_a_session_, bodies), "bodies");
  v1::UploadRequest again;  // one record again: a duplicate's whole receipt
  again.set_batch_id(1);
  *again.add_records() = sent[0];
  sent.push_back(Seal(monitor_a_, alpha_));
  *again.add_records() = sent[2];
  Must(stream.Answer(monitor_a_session_, again), "again");
  for (int i = 0; i < 2; ++i) UploadOne(monitor_b_session_, Seal(monitor_b_, beta_));

  v1::UploadRequest closing;
  closing.set_batch_id(2);
  closing.mutable_log()->add_log_indexes(owed_index);
  v1::UploadResponse answer = Must(stream.Answer(monitor_a_session_, closing), "closing");
  EXPECT_EQ(answer.batch_id(), 2u);
  ASSERT_TRUE(answer.has_log());
  EXPECT_EQ(metrics.log_proofs(LogProofsVia::kUploadStream), 1);
  EXPECT_EQ(metrics.log_proofs(LogProofsVia::kCall), 0);

  crypto::NoteVerifier verifier = Must(crypto::ParseVkey(answer.log().log_vkey()), "vkey");
  crypto::Checkpoint checkpoint =
      Must(crypto::VerifyCheckpoint(answer.log().checkpoint(), verifier), "checkpoint");
  EXPECT_EQ(checkpoint.size, *store_->LogSize());
  std::vector<std::pair<const v1::Envelope*, const FakeDevice*>> proven = {{&owed, &monitor_a_}};
  for (const v1::Envelope& e : sent) proven.push_back({&e, &monitor_a_});
  std::vector<crypto::merkle::KnownLeaf> leaves;
  for (const auto& [envelope, device] : proven) {
    v1::StoredRecord row =
        *Must(core_->registry().Record(device->id, RecordId(*envelope)), "record");
    leaves.push_back({row.log_index() - 1, crypto::merkle::HashLeaf(EncodeLogLeaf(
                                               {.log_index = row.log_index(),
                                                .record_id = RecordId(*envelope),
                                                .digest = crypto::RecordDigest(*envelope),
                                                .device_id = device->id,
                                                .device_seq = row.device_seq(),
                                                .received_hour = row.received_at()}))});
  }
  std::vector<std::string> proof(answer.log().joint_inclusion().begin(),
                                 answer.log().joint_inclusion().end());
  ASSERT_FALSE(proof.empty());
  EXPECT_TRUE(
      crypto::merkle::VerifyMultiInclusion(leaves, checkpoint.size, proof, checkpoint.root).ok());
  leaves.pop_back();  // a set that lacks one of them does not verify: the set is exact
  EXPECT_FALSE(
      crypto::merkle::VerifyMultiInclusion(leaves, checkpoint.size, proof, checkpoint.root).ok());

  // A stream closes once, and nothing follows its closing.
  EXPECT_EQ(stream.Answer(monitor_a_session_, closing).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(stream.Answer(monitor_a_session_, bodies).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A stream opened with a sign-in (UploadResponse.sign_in): the device sent its closing
// request before it saw the sign-in's checkpoint, but holds that checkpoint by the time
// it checks the closing answer, so the consistency proof must start there.
TEST_P(CoreTest, UploadStreamOpenedBySignInProvesConsistencyFromTheCheckpointItAnswered) {
  SetUpWorld();
  crypto::SigningKey log_key = crypto::SigningKey::Generate();
  core_->set_log_key(
      Must(crypto::SigningKey::FromSecretKey(log_key.secret_key().ExposeSecret()), "log key"));
  for (int i = 0; i < 3; ++i) UploadOne(monitor_b_session_, Seal(monitor_b_, beta_));
  v1::GetLogProofsRequest held;  // what the device held before: the first leaf
  held.set_old_size(1);
  v1::GetLogProofsResponse at_sign_in =
      Must(core_->GetLogProofs(monitor_a_session_, held), "sign-in");
  crypto::NoteVerifier verifier = Must(crypto::ParseVkey(at_sign_in.log_vkey()), "vkey");
  crypto::Checkpoint answered =
      Must(crypto::VerifyCheckpoint(at_sign_in.checkpoint(), verifier), "checkpoint");
  ASSERT_GT(answered.size, 1u);
  for (int i = 0; i < 2; ++i) UploadOne(monitor_b_session_, Seal(monitor_b_, beta_));

  auto closing_answer = [&](bool opened_by_sign_in) {
    UploadStream stream(*core_);
    if (opened_by_sign_in) stream.OpenedAtTreeSize(answered.size);
    v1::UploadRequest bodies;
    *bodies.add_records() = Seal(monitor_a_, alpha_);
    Must(stream.Answer(monitor_a_session_, bodies), "bodies");
    v1::UploadRequest closing;
    closing.set_batch_id(1);
    *closing.mutable_log() = held;
    return Must(stream.Answer(monitor_a_session_, closing), "closing").log();
  };
  auto consistent_from_answered = [&](const v1::GetLogProofsResponse& log) {
    crypto::Checkpoint now = Must(crypto::VerifyCheckpoint(log.checkpoint(), verifier), "now");
    std::vector<std::string> proof(log.consistency().begin(), log.consistency().end());
    return crypto::merkle::VerifyConsistency(answered.size, now.size, answered.root, now.root,
                                             proof)
        .ok();
  };
  EXPECT_TRUE(consistent_from_answered(closing_answer(/*opened_by_sign_in=*/true)));
  // Opened with a token, the proof starts where the closing request says.
  EXPECT_FALSE(consistent_from_answered(closing_answer(/*opened_by_sign_in=*/false)));
}

TEST_P(CoreTest, LogProofsLeaveOutTheLogKeyOnlyForADeviceThatNamesIt) {
  SetUpWorld();
  crypto::SigningKey log_key = crypto::SigningKey::Generate();
  core_->set_log_key(
      Must(crypto::SigningKey::FromSecretKey(log_key.secret_key().ExposeSecret()), "log key"));
  UploadOne(monitor_a_session_, Seal(monitor_a_, alpha_));
  const std::string vkey = *core_->log().Vkey();
  v1::GetLogProofsRequest request;
  v1::GetLogProofsResponse full = Must(core_->GetLogProofs(monitor_a_session_, request), "full");
  EXPECT_EQ(full.log_vkey(), vkey);
  EXPECT_FALSE(full.log_vkey_signature().empty());
  request.set_held_log_key(crypto::LogKeyTag(vkey));
  v1::GetLogProofsResponse keyless = Must(core_->GetLogProofs(monitor_a_session_, request), "held");
  EXPECT_TRUE(keyless.log_vkey().empty());
  EXPECT_TRUE(keyless.log_vkey_signature().empty());
  EXPECT_EQ(keyless.checkpoint(), full.checkpoint());
  std::string other = crypto::LogKeyTag(vkey);
  other[0] ^= 1;  // another key held (a rotation): the key comes, signed
  request.set_held_log_key(other);
  EXPECT_EQ(Must(core_->GetLogProofs(monitor_a_session_, request), "other").log_vkey(), vkey);
}

TEST_P(CoreTest, UploadStreamRefusesMalformedClosingRequests) {
  SetUpWorld();
  crypto::SigningKey log_key = crypto::SigningKey::Generate();
  core_->set_log_key(
      Must(crypto::SigningKey::FromSecretKey(log_key.secret_key().ExposeSecret()), "log key"));
  const uint64_t index = UploadOne(monitor_a_session_, Seal(monitor_a_, alpha_)).log_index();
  {  // records beside the closing
    UploadStream stream(*core_);
    v1::UploadRequest closing;
    closing.mutable_log()->add_log_indexes(index);
    *closing.add_records() = Seal(monitor_a_, alpha_);
    EXPECT_EQ(stream.Answer(monitor_a_session_, closing).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  {  // log index 0, or past the log: no proofs, and the stream's batches stand (the
     // device's GetLogProofs call then says what is wrong)
    for (uint64_t bad : {uint64_t{0}, index + 1000}) {
      UploadStream stream(*core_);
      v1::UploadRequest closing;
      closing.mutable_log()->add_log_indexes(bad);
      absl::StatusOr<v1::UploadResponse> answer = stream.Answer(monitor_a_session_, closing);
      ASSERT_TRUE(answer.ok()) << bad << ": " << answer.status();
      EXPECT_FALSE(answer->has_log()) << bad;
    }
  }
  {
    UploadStream stream(*core_);
    v1::UploadRequest closing;
    closing.set_batch_id(7);
    for (int i = 0; i < 1024; ++i) closing.mutable_log()->add_log_indexes(index);
    v1::UploadResponse answer = Must(stream.Answer(monitor_a_session_, closing), "closing");
    // One index asked 1024 times is one index: proven. (More than 1024 entries are not
    // looked at, below.)
    EXPECT_TRUE(answer.has_log());
  }
  {  // more than one answer holds: no proofs, and the device asks apart
    UploadStream stream(*core_);
    v1::UploadRequest closing;
    closing.set_batch_id(7);
    for (uint64_t i = 1; i <= 1025; ++i) closing.mutable_log()->add_log_indexes(i);
    v1::UploadResponse answer = Must(stream.Answer(monitor_a_session_, closing), "closing");
    EXPECT_EQ(answer.batch_id(), 7u);
    EXPECT_FALSE(answer.has_log());
  }
  {  // nothing to prove: nothing proven
    UploadStream stream(*core_);
    v1::UploadRequest closing;
    *closing.mutable_log() = v1::GetLogProofsRequest();
    closing.mutable_log()->set_old_size(1);
    v1::UploadResponse answer = Must(stream.Answer(monitor_a_session_, closing), "closing");
    EXPECT_FALSE(answer.has_log());
  }
}

// The core counts what it does through Metrics, with labels from fixed sets only.
TEST_P(CoreTest, MetricsCountEachOutcomeOnceAndSignInsByResult) {
  SetUpWorld();
  CountingMetrics metrics;
  core_->set_metrics(&metrics);
  v1::Envelope first = Seal(monitor_a_, alpha_);
  crypto::SealParams params = Params(monitor_a_, alpha_);
  v1::Envelope second = Seal(params, monitor_a_.signing);
  v1::Envelope resealed = Seal(params, monitor_a_.signing);  // same id, other digest
  v1::Envelope forged = Seal(monitor_a_, alpha_);
  forged.set_signature(Flip(forged.signature(), 0, 1));
  Must(Upload(monitor_a_session_, {first, second}), "upload");
  EXPECT_EQ(metrics.records(RecordOutcome::kAccepted), 2);
  EXPECT_EQ(metrics.commits(), 1);
  Must(Upload(monitor_a_session_, {first, resealed, forged}), "upload");
  EXPECT_EQ(metrics.records(RecordOutcome::kAccepted), 2);
  EXPECT_EQ(metrics.records(RecordOutcome::kDuplicate), 1);
  EXPECT_EQ(metrics.records(RecordOutcome::kConflicting, StatusCode::kFailedPrecondition), 1);
  EXPECT_EQ(metrics.records(RecordOutcome::kRefused, StatusCode::kUnauthenticated), 1);
  EXPECT_EQ(metrics.bytes_in(), 2 * first.ByteSizeLong() + second.ByteSizeLong() +
                                    resealed.ByteSizeLong() + forged.ByteSizeLong());
  // A batch refused as a whole counts each of its records as refused, with its reason.
  EXPECT_FALSE(Upload(reviewer_a_session_, {Seal(monitor_a_, alpha_)}).ok());
  EXPECT_EQ(metrics.records(RecordOutcome::kRefused, StatusCode::kPermissionDenied), 1);

  v1::FetchRecordsRequest fetch;
  fetch.add_record_ids(RecordId(first));
  Must(core_->review().FetchRecords(reviewer_a_session_, fetch), "fetch");
  EXPECT_EQ(metrics.bytes_out(), first.ByteSizeLong());

  const size_t open_before = core_->sessions().OpenSessions();
  SignIn(monitor_b_);
  EXPECT_EQ(metrics.sign_ins(StatusCode::kOk), 1);
  EXPECT_EQ(core_->sessions().OpenSessions(), open_before + 1);
  std::string nonce = Must(core_->sessions().IssueChallenge(monitor_b_.id), "challenge");
  EXPECT_FALSE(core_->sessions()
                   .Authenticate(monitor_b_.id, nonce, Flip(monitor_b_.SignChallenge(nonce), 0, 1))
                   .ok());
  EXPECT_EQ(metrics.sign_ins(StatusCode::kUnauthenticated), 1);
  clock_.Advance(SessionAuthority::kSessionTtlSeconds);
  EXPECT_EQ(core_->sessions().OpenSessions(), 0u);
}

}  // namespace
}  // namespace temoin::server
