// The server's store under simulated power loss and a full disk, driven through the real
// protocol core (temoin::server::Core on RocksStore) with tests/crash/fault_fs.h
// underneath:
//   - Power loss, 100+ times (seeded; the seed is printed, TEMOIN_CRASH_SEED replays):
//     uploads run until the power goes off after a random number of file operations;
//     the store is closed, every unsynced byte dropped, reopened under a fresh core.
//     Every record whose receipt came back before the cut must still be there,
//     byte-identical, at the log index its receipt names, and the log must be dense.
//   - Disk full: an upload fails with kResourceExhausted and gives no receipt; once
//     space is freed the same core stores the batch and receipts it.
// Synthetic data only.

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/vocabulary.h"
#include "crypto/auth.h"
#include "crypto/envelope.h"
#include "crypto/keys.h"
#include "crypto/project_keys.h"
#include "crypto/receipt.h"
#include "crypto/sodium_init.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "server/core/core.h"
#include "server/core/testing/fake_device.h"
#include "server/storage/rocks_store.h"
#include "temoin/v1/testimony.pb.h"
#include "tests/crash/fault_fs.h"

namespace temoin::server {
namespace {

using ::temoin::server::testing::FakeDevice;
using ::temoin::server::testing::Must;

constexpr int64_t kStartTime = 1'780'000'000;

v1::Testimony SyntheticTestimony(uint64_t n) {
  v1::Testimony t;
  t.set_narrative(absl::StrCat("Witness ", n, " (synthetic) saw a granary burn in Village X."));
  t.set_language("fr");
  t.mutable_incident()->set_date("2026-03-14");
  t.mutable_incident()->set_region("ML-6");
  v1::Act* act = t.add_acts();
  act->set_type("abduction");
  act->set_count(1);
  t.mutable_consent()->set_informed(true);
  return t;
}

uint64_t SeedFromEnv(uint64_t fallback) {
  uint64_t seed = fallback;
  if (const char* env = std::getenv("TEMOIN_CRASH_SEED"); env && !absl::SimpleAtoi(env, &seed)) {
    ADD_FAILURE() << "TEMOIN_CRASH_SEED is not a number";
  }
  return seed;
}

// CI's 120 power cuts, or TEMOIN_CRASH_ROUNDS of them (tests/soak/run.sh runs 1,000).
int RoundsFromEnv(int fallback) {
  int rounds = fallback;
  if (const char* env = std::getenv("TEMOIN_CRASH_ROUNDS");
      env && (!absl::SimpleAtoi(env, &rounds) || rounds < 1)) {
    ADD_FAILURE() << "TEMOIN_CRASH_ROUNDS is not a positive number";
    rounds = fallback;
  }
  return rounds;
}

std::string RecordId(const v1::Envelope& envelope) {
  v1::RecordHeader header;
  header.ParseFromString(envelope.header());
  return header.record_id();
}

uint64_t DecodeBigEndian(absl::string_view bytes) {
  uint64_t v = 0;
  for (unsigned char c : bytes) v = (v << 8) | c;
  return v;
}

class StoreCrashTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitializeCrypto().ok()); }

  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/temoin_crash_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs_ = crash::FaultFs::Default();
    env_ = rocksdb::NewCompositeEnv(fs_);
    OpenStore();
    v1::ServerConfig config;  // what `temoin-server init` writes first
    config.set_org_name("Synthetic Rights Org");
    WriteBatch batch;
    batch.Put(keys::Config(), config.SerializeAsString());
    ASSERT_TRUE(store_->Commit(batch).ok());
    receipt_secret_ = std::string(receipt_key_.secret_key().ExposeSecret());
    StartCore();
    SetUpWorld();
  }

  void TearDown() override {
    core_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void OpenStore() {
    store_ =
        Must(RocksStore::Open(dir_ + "/db", RocksStore::Options{.env = env_.get()}), "open store");
  }

  void StartCore() {
    core_ = std::make_unique<Core>(
        store_.get(), &clock_,
        Must(crypto::SigningKey::FromSecretKey(receipt_secret_), "receipt key"),
        Must(DefaultVocabulary(), "vocabulary"));
  }

  Session SignIn(const FakeDevice& device) {
    std::string nonce = Must(core_->sessions().IssueChallenge(device.id), "challenge");
    std::string signature =
        device.signing.Sign(crypto::kAuthContext, crypto::AuthChallengeMessage(nonce, device.id));
    std::string token =
        Must(core_->sessions().Authenticate(device.id, nonce, signature), "authenticate");
    return Must(core_->sessions().Verify(token), "verify");
  }

  void Enroll(FakeDevice& device, const std::string& token) {
    device.id = Must(core_->enrollment().Enroll(device.EnrollRequest(token)), "enrol").device_id();
  }

  // An admin, project "alpha" and one monitor, as the server_core_test world.
  void SetUpWorld() {
    admin_.org = crypto::SigningKey::Generate();
    Enroll(
        admin_,
        Must(core_->enrollment().CreateInvite(v1::ROLE_ADMIN, "", 0, true), "bootstrap").token());
    Session admin_session = SignIn(admin_);
    project_id_ = crypto::RandomBytes(crypto::kProjectIdBytes);
    v1::ProjectKeyBody body;
    body.set_project_id(project_id_);
    body.set_project_name("alpha");
    body.set_epoch(1);
    body.set_public_key(epoch_key_.public_key());
    v1::CreateProjectRequest project;
    *project.mutable_key() = crypto::SignProjectKey(body, *admin_.org);
    project.set_admin_wrapped_secret(
        Must(crypto::WrapEpochSecret(epoch_key_, project_id_, 1, admin_.box.public_key()), "wrap"));
    Must(core_->admin().CreateProject(admin_session, project), "create project");
    v1::CreateInviteRequest invite;
    invite.set_role(v1::ROLE_MONITOR);
    invite.set_project("alpha");
    Enroll(monitor_, Must(core_->admin().CreateInvite(admin_session, invite), "invite").token());
  }

  v1::Envelope Seal() {
    crypto::SealParams params;
    params.record_id = crypto::RandomBytes(crypto::kRecordIdBytes);
    params.device_seq = monitor_.next_seq++;
    params.project_id = project_id_;
    params.device_id = monitor_.id;
    params.recipients = {{epoch_key_.public_key(), 1}};
    return Must(crypto::SealRecord(SyntheticTestimony(params.device_seq), params, monitor_.signing),
                "seal");
  }

  absl::StatusOr<std::vector<v1::RecordResult>> Upload(const Session& session,
                                                       const std::vector<v1::Envelope>& records) {
    google::protobuf::RepeatedPtrField<v1::Envelope> field(records.begin(), records.end());
    return core_->ingest().UploadBatch(session, field);
  }

  // Closes the store with the power off, drops what was not durable, reopens it under a
  // fresh core: a server restarted after a power cut.
  void PowerCutAndRestart() {
    fs_->Deactivate();
    core_.reset();
    store_.reset();  // closing with the power off: nothing more reaches the disk
    ASSERT_TRUE(fs_->SimulatePowerLoss().ok());
    OpenStore();
    StartCore();
  }

  struct Acknowledged {
    std::string envelope;  // serialized, as uploaded
    uint64_t log_index = 0;
  };

  // Everything acknowledged is stored byte-identical at its receipt's log index; the log
  // is 1..N with no gap and every entry names a stored record.
  void ExpectAcknowledgedDurableAndLogDense(const std::map<std::string, Acknowledged>& acked) {
    for (const auto& [id, ack] : acked) {
      auto stored = core_->registry().RecordsWithId(id);
      ASSERT_TRUE(stored.ok()) << stored.status();
      ASSERT_EQ(stored->size(), 1u) << "an acknowledged record was lost";
      EXPECT_EQ(stored->front().envelope().SerializeAsString(), ack.envelope);
      EXPECT_EQ(stored->front().log_index(), ack.log_index);
    }
    uint64_t expected_index = 1;
    ASSERT_TRUE(store_
                    ->Scan("log/", "",
                           [&](absl::string_view key, absl::string_view value) {
                             EXPECT_EQ(DecodeBigEndian(key.substr(4)), expected_index)
                                 << "log has a gap";
                             auto ref = DecodeRecordRef(value);
                             EXPECT_TRUE(ref.ok()) << ref.status();
                             if (!ref.ok()) return false;
                             auto record = core_->registry().Record(ref->device_id, ref->record_id);
                             EXPECT_TRUE(record.ok() && record->has_value())
                                 << "log entry names no record";
                             if (record.ok() && record->has_value()) {
                               EXPECT_EQ((*record)->log_index(), expected_index);
                             }
                             ++expected_index;
                             return true;
                           })
                    .ok());
    EXPECT_GE(expected_index - 1, acked.size());
  }

  // Takes the receipts of a batch's results into `acked`; true when every one has one.
  bool TakeReceipts(const std::vector<v1::Envelope>& sent,
                    const std::vector<v1::RecordResult>& results,
                    std::map<std::string, Acknowledged>& acked) {
    EXPECT_EQ(results.size(), sent.size());
    bool all = true;
    for (size_t i = 0; i < results.size() && i < sent.size(); ++i) {
      if (results[i].code() != 0 || !results[i].has_receipt()) {
        all = false;
        continue;
      }
      auto body = crypto::VerifyReceipt(results[i].receipt(), receipt_key_.public_key(),
                                        RecordId(sent[i]), crypto::RecordDigest(sent[i]));
      EXPECT_TRUE(body.ok()) << body.status();
      if (body.ok()) {
        acked[RecordId(sent[i])] = Acknowledged{sent[i].SerializeAsString(), body->log_index()};
      }
    }
    return all;
  }

  FakeClock clock_{kStartTime};
  crypto::SigningKey receipt_key_ = crypto::SigningKey::Generate();
  std::string receipt_secret_;
  std::string dir_;
  std::shared_ptr<crash::FaultFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<RocksStore> store_;
  std::unique_ptr<Core> core_;
  FakeDevice admin_, monitor_;
  std::string project_id_;
  crypto::BoxKeyPair epoch_key_ = crypto::BoxKeyPair::Generate();
};

TEST_F(StoreCrashTest, NothingAcknowledgedIsLostAcrossPowerCutsAtRandomMoments) {
  const uint64_t seed = SeedFromEnv(20260808);
  const int crashes = RoundsFromEnv(120);
  std::cerr << "store_crash_test: seed " << seed << ", " << crashes
            << " power cuts (TEMOIN_CRASH_SEED to replay, TEMOIN_CRASH_ROUNDS for more)\n";
  std::mt19937_64 rng(seed);
  auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  std::map<std::string, Acknowledged> acked;
  std::vector<v1::Envelope> pending;  // sealed, no receipt yet: the device keeps them
  int64_t cut_mid_commit = 0, dropped_bytes = 0, dropped_files = 0;
  for (int crash = 0; crash < crashes; ++crash) {
    SCOPED_TRACE(absl::StrCat("power cut ", crash, ", seed ", seed));
    Session session = SignIn(monitor_);
    // The power goes off after 0..40 more file operations (a commit is a few: WAL append
    // and sync, sometimes a memtable flush, a new WAL, the MANIFEST, CURRENT).
    fs_->DeactivateAfter(uniform(0, 40));
    for (int batch_no = 0; batch_no < 6 && fs_->active(); ++batch_no) {
      std::vector<v1::Envelope> batch = pending;  // a retry resends what has no receipt
      for (int i = uniform(1, 6); i > 0; --i) batch.push_back(Seal());
      pending.clear();
      absl::StatusOr<std::vector<v1::RecordResult>> results = Upload(session, batch);
      if (!results.ok()) {
        pending = batch;  // no receipt for anything in a failed batch
        ++cut_mid_commit;
        break;
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        if (i >= results->size() || (*results)[i].code() != 0) pending.push_back(batch[i]);
      }
      TakeReceipts(batch, *results, acked);
    }
    PowerCutAndRestart();
    dropped_bytes += fs_->dropped_bytes();
    dropped_files += fs_->dropped_files();
    ExpectAcknowledgedDurableAndLogDense(acked);
    if (HasFatalFailure() || HasNonfatalFailure()) return;  // the trace says which cut
    clock_.Advance(60);
  }
  std::cerr << "store_crash_test: " << acked.size() << " records acknowledged, " << cut_mid_commit
            << " cuts during a commit, " << dropped_bytes << " unsynced bytes and " << dropped_files
            << " files dropped\n";
  EXPECT_GT(cut_mid_commit, crashes / 4) << "too few cuts landed inside a commit";
  EXPECT_GT(dropped_bytes, 0) << "no cut dropped anything: the simulation is not biting";

  // With the power on for good, the device's retries all get receipts.
  Session session = SignIn(monitor_);
  auto results = Upload(session, pending);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_TRUE(TakeReceipts(pending, *results, acked));
  ExpectAcknowledgedDurableAndLogDense(acked);
  EXPECT_EQ(acked.size(), monitor_.next_seq - 1) << "every sealed record ends up stored";
}

TEST_F(StoreCrashTest, FullDiskRefusesWithResourceExhaustedAndNoReceiptThenRecovers) {
  Session session = SignIn(monitor_);
  std::vector<v1::Envelope> batch = {Seal(), Seal(), Seal()};
  fs_->SetNoSpace(true);
  absl::StatusOr<std::vector<v1::RecordResult>> refused = Upload(session, batch);
  ASSERT_FALSE(refused.ok()) << "a full disk must not give receipts";
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_GT(fs_->no_space_errors(), 0);
  for (const v1::Envelope& envelope : batch) {
    auto stored = core_->registry().RecordsWithId(RecordId(envelope));
    ASSERT_TRUE(stored.ok());
    EXPECT_TRUE(stored->empty()) << "a refused record was stored";
  }

  fs_->SetNoSpace(false);  // the operator frees space; no restart
  // The device retries with backoff; RocksStore resumes RocksDB before the next commit,
  // so the first retry after space is freed succeeds (FirstCommitAfterSpaceIsFreed...).
  absl::StatusOr<std::vector<v1::RecordResult>> results = Upload(session, batch);
  int attempts = 1;
  for (; !results.ok() && attempts < 5; ++attempts) {
    EXPECT_EQ(results.status().code(), absl::StatusCode::kResourceExhausted) << results.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    results = Upload(session, batch);
  }
  std::cerr << "store_crash_test: stored after " << attempts
            << " attempt(s) once space was freed\n";
  ASSERT_TRUE(results.ok()) << results.status();
  std::map<std::string, Acknowledged> acked;
  EXPECT_TRUE(TakeReceipts(batch, *results, acked));
  ExpectAcknowledgedDurableAndLogDense(acked);

  // And it survives a power cut right after.
  PowerCutAndRestart();
  ExpectAcknowledgedDurableAndLogDense(acked);
}

// The operator frees space and the device's very next upload must get its receipts:
// a store that resumed RocksDB while the disk was still full stays read-only and would
// refuse it (and every later one until a restart). Several refused retries while the
// disk is still full must not change that.
TEST_F(StoreCrashTest, FirstCommitAfterSpaceIsFreedSucceeds) {
  Session session = SignIn(monitor_);
  std::map<std::string, Acknowledged> acked;
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(absl::StrCat("disk-full round ", round));
    std::vector<v1::Envelope> batch = {Seal(), Seal()};
    fs_->SetNoSpace(true);
    for (int attempt = 0; attempt < 3; ++attempt) {
      absl::StatusOr<std::vector<v1::RecordResult>> refused = Upload(session, batch);
      ASSERT_FALSE(refused.ok()) << "a full disk must not give receipts";
      EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
    }
    fs_->SetNoSpace(false);
    absl::StatusOr<std::vector<v1::RecordResult>> results = Upload(session, batch);
    ASSERT_TRUE(results.ok()) << "the first upload after space is freed failed: "
                              << results.status();
    EXPECT_TRUE(TakeReceipts(batch, *results, acked));
    ExpectAcknowledgedDurableAndLogDense(acked);
  }
  PowerCutAndRestart();
  ExpectAcknowledgedDurableAndLogDense(acked);
}

// The simulation itself must bite: an unsynced write is gone after a power cut, a synced
// one is not. (If this failed, the tests above would prove nothing.)
TEST(FaultFsTest, PowerLossDropsUnsyncedWritesAndKeepsSyncedOnes) {
  std::string pattern = ::testing::TempDir() + "/temoin_faultfs_XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  auto fs = crash::FaultFs::Default();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  {
    auto store =
        Must(RocksStore::Open(pattern + "/db", RocksStore::Options{.env = env.get()}), "open");
    WriteBatch synced;
    synced.Put("k/synced", "kept");
    ASSERT_TRUE(store->Commit(synced).ok());  // RocksStore writes with sync=true
  }
  {
    rocksdb::Options options;
    options.env = env.get();
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, pattern + "/db", &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteOptions unsynced;  // sync = false
    ASSERT_TRUE(db->Put(unsynced, "k/unsynced", "lost").ok());
    fs->Deactivate();
  }
  ASSERT_TRUE(fs->SimulatePowerLoss().ok());
  EXPECT_GT(fs->dropped_bytes() + fs->dropped_files(), 0);
  auto store =
      Must(RocksStore::Open(pattern + "/db", RocksStore::Options{.env = env.get()}), "reopen");
  EXPECT_EQ(Must(store->Get("k/synced"), "get").value_or(""), "kept");
  EXPECT_FALSE(Must(store->Get("k/unsynced"), "get").has_value());
  store.reset();
  std::filesystem::remove_all(pattern);
}

}  // namespace
}  // namespace temoin::server
