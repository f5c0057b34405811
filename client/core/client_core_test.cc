// The device logic without a network: sealing into the outbox, receipts, the
// reviewer's desk and exports, on a real vault in a temp directory.
#include <filesystem>

#include "client/core/device_state.h"
#include "client/core/drafts.h"
#include "client/core/export.h"
#include "client/core/outbox.h"
#include "client/core/review_desk.h"
#include "client/core/server_keys_state.h"
#include "common/vocabulary.h"
#include "crypto/auth.h"
#include "crypto/checkpoint.h"
#include "crypto/device_certificate.h"
#include "crypto/envelope.h"
#include "crypto/project_keys.h"
#include "crypto/receipt.h"
#include "crypto/server_keys.h"
#include "crypto/sodium_init.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace temoin::client {
namespace {

namespace fs = std::filesystem;

v1::Testimony SampleTestimony(int i) {
  v1::Testimony t;
  t.set_narrative("SYNTHETIC narrative number " + std::to_string(i) + ", with \"quotes\"");
  t.set_language("fr");
  t.mutable_incident()->set_date("2026-03-14");
  t.mutable_incident()->set_region("mopti");
  v1::Act* act = t.add_acts();
  act->set_type("abduction");
  act->set_count(2);
  t.add_victims()->set_name("Synthname-" + std::to_string(i));
  return t;
}

// An organisation, a server and one project, with devices made the way enrolment makes
// them, written straight into vaults.
class ClientCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitializeCrypto().ok());
    root_ = fs::temp_directory_path() /
            ("client_core_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    project_body_.set_project_id(crypto::RandomBytes(16));
    project_body_.set_project_name("alpha");
    project_body_.set_epoch(1);
    project_body_.set_public_key(epoch_key_.public_key());
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Vault> MakeDevice(const std::string& name, v1::Role role,
                                    crypto::SigningKey& device_key, crypto::BoxKeyPair& box) {
    auto vault = Vault::Create((root_ / name).string(), "passphrase");
    EXPECT_TRUE(vault.ok()) << vault.status();
    v1::Profile profile;
    profile.set_device_id(crypto::DeviceIdFromKeys(device_key.public_key(), box.public_key()));
    profile.set_role(role);
    profile.set_project_id(project_body_.project_id());
    profile.set_project("alpha");
    profile.set_org_public_key(org_.public_key());
    profile.set_server_signing_key(server_.public_key());
    profile.set_signing_secret_key(std::string(device_key.secret_key().ExposeSecret()));
    profile.set_box_secret_key(std::string(box.secret_key().ExposeSecret()));
    profile.set_box_public_key(box.public_key());
    profile.set_next_seq(1);
    VaultBatch batch;
    PutProfile(batch, profile);
    batch.Put(kSettingsNs, "vocabulary", DefaultVocabulary()->SerializeAsString());
    EXPECT_TRUE((*vault)->Commit(batch).ok());
    return std::move(*vault);
  }

  std::unique_ptr<Vault> MakeMonitor() {
    auto vault = MakeDevice("monitor", v1::ROLE_MONITOR, monitor_key_, monitor_box_);
    EXPECT_TRUE(StoreSignedProjectKey(*vault, crypto::SignProjectKey(project_body_, org_),
                                      org_.public_key())
                    .ok());
    return vault;
  }

  v1::Receipt ReceiptFor(const v1::Envelope& envelope, uint64_t index,
                         const crypto::SigningKey& signer) {
    v1::RecordHeader header;
    header.ParseFromString(envelope.header());
    v1::ReceiptBody body;
    body.set_format_version(1);
    body.set_record_id(header.record_id());
    body.set_digest(crypto::RecordDigest(envelope));
    body.set_log_index(index);
    body.set_received_at(1700000000);
    return crypto::SignReceipt(body, signer);
  }

  v1::OutboxEntry Entry(Vault& vault, const std::string& record_id) {
    v1::OutboxEntry entry;
    entry.ParseFromString(vault.Get(kOutboxNs, record_id).value().value());
    return entry;
  }

  fs::path root_;
  crypto::SigningKey org_ = crypto::SigningKey::Generate();
  crypto::SigningKey server_ = crypto::SigningKey::Generate();
  crypto::BoxKeyPair epoch_key_ = crypto::BoxKeyPair::Generate();
  v1::ProjectKeyBody project_body_;
  crypto::SigningKey monitor_key_ = crypto::SigningKey::Generate();
  crypto::BoxKeyPair monitor_box_ = crypto::BoxKeyPair::Generate();
};

TEST_F(ClientCoreTest, SealedRecordsGetConsecutiveSeqsAndOnlyTheProjectKeyOpensThem) {
  auto vault = MakeMonitor();
  absl::StatusOr<std::vector<SealedRecord>> sealed =
      SealTestimonies(*vault, {SampleTestimony(0), SampleTestimony(1), SampleTestimony(2)});
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_EQ(sealed->size(), 3u);
  auto pending = PendingRecords(*vault);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*pending)[i].device_seq(), i + 1);
    // The device's own keys cannot open what it sealed.
    EXPECT_FALSE(crypto::OpenRecord((*pending)[i].envelope(), monitor_box_).ok());
    absl::StatusOr<v1::Testimony> opened = crypto::OpenRecord((*pending)[i].envelope(), epoch_key_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->narrative(), SampleTestimony(static_cast<int>(i)).narrative());
  }
  EXPECT_EQ(LoadProfile(*vault)->next_seq(), 4u);
}

TEST_F(ClientCoreTest, OneInvalidTestimonyStoresNothing) {
  auto vault = MakeMonitor();
  v1::Testimony bad = SampleTestimony(1);
  bad.mutable_acts(0)->set_type("not_a_code");
  absl::StatusOr<std::vector<SealedRecord>> sealed =
      SealTestimonies(*vault, {SampleTestimony(0), bad});
  EXPECT_EQ(sealed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(sealed.status().message().find("testimony 1: acts[0].type"), std::string::npos)
      << sealed.status();
  EXPECT_EQ(PendingRecords(*vault)->size(), 0u);
  EXPECT_EQ(LoadProfile(*vault)->next_seq(), 1u);
}

TEST_F(ClientCoreTest, ProjectKeyNotSignedByTheOrganisationIsRefused) {
  auto vault = MakeDevice("monitor", v1::ROLE_MONITOR, monitor_key_, monitor_box_);
  crypto::SigningKey rogue = crypto::SigningKey::Generate();
  EXPECT_EQ(
      StoreSignedProjectKey(*vault, crypto::SignProjectKey(project_body_, rogue), org_.public_key())
          .status()
          .code(),
      absl::StatusCode::kUnauthenticated);
  // Nothing to seal to, so recording refuses instead of sealing to a server's key.
  EXPECT_FALSE(SealTestimonies(*vault, {SampleTestimony(0)}).ok());
}

TEST_F(ClientCoreTest, ServerSwappingAKnownEpochKeyIsRefused) {
  auto vault = MakeMonitor();
  v1::ProjectKeyBody swapped = project_body_;
  swapped.set_public_key(crypto::BoxKeyPair::Generate().public_key());
  EXPECT_EQ(StoreSignedProjectKey(*vault, crypto::SignProjectKey(swapped, org_), org_.public_key())
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

// Receipt-key rotation as the device sees it (issue 12): the pinned key until the
// organisation's statement is held; then only certified keys, each for its hours; the
// device follows a key the server names only when the statement makes it current.
TEST_F(ClientCoreTest, ReceiptKeysFollowTheOrganisationsStatement) {
  auto vault = MakeMonitor();
  v1::Profile profile = *LoadProfile(*vault);
  crypto::SigningKey next = crypto::SigningKey::Generate();
  crypto::SigningKey stranger = crypto::SigningKey::Generate();
  constexpr int64_t kSwitch = 1'780'000'000 / 3600 * 3600;
  auto receipt_at = [&](const crypto::SigningKey& key, int64_t hour) {
    v1::ReceiptBody body;
    body.set_record_id(std::string(16, 'r'));
    body.set_received_at(hour);
    body.set_server_key_id(crypto::KeyId(key.public_key()));
    return crypto::SignReceipt(body, key);
  };
  auto ring = [&] { return *ReceiptKeyRing::Load(*vault, profile); };

  // No statement: the pinned key alone, whatever the hour.
  EXPECT_EQ(ring().KeyFor(receipt_at(server_, kSwitch + 7200)).value_or(""), server_.public_key());
  EXPECT_FALSE(ring().KeyFor(receipt_at(next, kSwitch)).ok());
  EXPECT_EQ(FollowReceiptKey(*vault, profile, crypto::KeyId(next.public_key())).code(),
            absl::StatusCode::kUnauthenticated)
      << "followed a key nobody certified";

  // The statement after the switch: the old key retired at kSwitch, the next current.
  crypto::ServerKeys keys{.issued = kSwitch};
  keys.receipt_keys.push_back({server_.public_key(), 0, kSwitch});
  keys.receipt_keys.push_back({next.public_key(), kSwitch, std::nullopt});
  keys.log_keys.push_back(
      {crypto::FormatVkey("log.example", stranger.public_key()), 0, std::nullopt});
  v1::ServerKeyStatement statement;
  statement.set_body(*crypto::FormatServerKeys(keys));
  v1::ServerKeyStatement forged = statement;
  forged.set_org_signature(stranger.Sign(crypto::kServerKeysContext, forged.body()));
  EXPECT_EQ(StoreServerKeyStatement(*vault, forged, org_.public_key()).code(),
            absl::StatusCode::kUnauthenticated);
  statement.set_org_signature(org_.Sign(crypto::kServerKeysContext, statement.body()));
  ASSERT_TRUE(StoreServerKeyStatement(*vault, statement, org_.public_key()).ok());

  EXPECT_EQ(ring().KeyFor(receipt_at(server_, kSwitch - 3600)).value_or(""), server_.public_key())
      << "a receipt from before the rotation no longer verifies";
  EXPECT_FALSE(ring().KeyFor(receipt_at(server_, kSwitch + 3600)).ok())
      << "the retired key still signs for hours after its retirement";
  EXPECT_EQ(ring().KeyFor(receipt_at(next, kSwitch)).value_or(""), next.public_key());
  EXPECT_FALSE(ring().KeyFor(receipt_at(stranger, kSwitch)).ok());

  ASSERT_TRUE(FollowReceiptKey(*vault, profile, crypto::KeyId(next.public_key())).ok());
  EXPECT_EQ(profile.server_signing_key(), next.public_key());
  EXPECT_EQ(LoadProfile(*vault)->server_signing_key(), next.public_key()) << "not durable";
  EXPECT_EQ(FollowReceiptKey(*vault, profile, crypto::KeyId(server_.public_key())).code(),
            absl::StatusCode::kUnauthenticated)
      << "followed the server back to a retired key";
}

TEST_F(ClientCoreTest, OnlyAVerifiedReceiptPurgesTheSealedCopy) {
  auto vault = MakeMonitor();
  auto sealed = SealTestimonies(*vault, {SampleTestimony(0)});
  ASSERT_TRUE(sealed.ok());
  const std::string id = (*sealed)[0].record_id;
  v1::Envelope envelope = Entry(*vault, id).envelope();

  crypto::SigningKey impostor = crypto::SigningKey::Generate();
  EXPECT_EQ(ApplyReceipts(*vault, {{id, ReceiptFor(envelope, 1, impostor)}}).code(),
            absl::StatusCode::kUnauthenticated);
  v1::Envelope other = envelope;
  (*other.mutable_nonce())[0] ^= 0x01;  // another digest (the signature is not part of it)
  EXPECT_FALSE(ApplyReceipts(*vault, {{id, ReceiptFor(other, 1, server_)}}).ok());
  EXPECT_EQ(Entry(*vault, id).state(), v1::RECORD_STATE_SEALED);
  EXPECT_TRUE(Entry(*vault, id).has_envelope());

  ASSERT_TRUE(ApplyReceipts(*vault, {{id, ReceiptFor(envelope, 1, server_)}}).ok());
  EXPECT_EQ(Entry(*vault, id).state(), v1::RECORD_STATE_PURGED);
  EXPECT_FALSE(Entry(*vault, id).has_envelope());
  auto counts = CountByState(*vault);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)["purged"], 1u);
  EXPECT_EQ((*counts)["sealed"], 0u);
}

// A commitment batch receipt (issue 13) marks its records committed only when its one
// signature verifies over the bodies the device rebuilds; it never purges, and no kind
// of receipt passes for the other.
TEST_F(ClientCoreTest, OnlyAVerifiedCommitmentBatchReceiptMarksRecordsCommitted) {
  auto vault = MakeMonitor();
  auto sealed = SealTestimonies(*vault, {SampleTestimony(0), SampleTestimony(1)});
  ASSERT_TRUE(sealed.ok());
  std::vector<std::pair<std::string, std::string>> leaves;
  std::vector<v1::ReceiptBody> bodies;
  for (const auto& record : *sealed) {
    const std::string digest = crypto::RecordDigest(Entry(*vault, record.record_id).envelope());
    leaves.emplace_back(record.record_id, digest);
    v1::ReceiptBody& body = bodies.emplace_back();
    body.set_format_version(1);
    body.set_record_id(record.record_id);
    body.set_digest(digest);
    body.set_received_at(1700000000);
    body.set_server_key_id(crypto::KeyId(server_.public_key()));
  }
  auto batch_receipt = [&](const crypto::SigningKey& signer, crypto::ReceiptKind kind) {
    v1::BatchReceipt receipt;
    receipt.set_received_at(1700000000);
    receipt.set_server_key_id(crypto::KeyId(server_.public_key()));
    receipt.set_signature(crypto::SignBatchReceipts(bodies, signer, kind)[0].signature());
    return receipt;
  };
  crypto::SigningKey impostor = crypto::SigningKey::Generate();
  EXPECT_EQ(ApplyCommitmentBatchReceipt(
                *vault, batch_receipt(impostor, crypto::ReceiptKind::kCommitment), leaves)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ApplyCommitmentBatchReceipt(*vault, batch_receipt(server_, crypto::ReceiptKind::kFull),
                                        leaves)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  std::vector<std::pair<std::string, std::string>> swapped = {leaves[1], leaves[0]};
  EXPECT_FALSE(ApplyCommitmentBatchReceipt(
                   *vault, batch_receipt(server_, crypto::ReceiptKind::kCommitment), swapped)
                   .ok());
  for (const auto& [id, digest] : leaves)
    EXPECT_EQ(Entry(*vault, id).state(), v1::RECORD_STATE_SEALED);

  auto marked = ApplyCommitmentBatchReceipt(
      *vault, batch_receipt(server_, crypto::ReceiptKind::kCommitment), leaves);
  ASSERT_TRUE(marked.ok()) << marked.status();
  EXPECT_EQ(*marked, 2u);
  for (const auto& [id, digest] : leaves) {
    EXPECT_EQ(Entry(*vault, id).state(), v1::RECORD_STATE_COMMITTED);
    EXPECT_TRUE(Entry(*vault, id).has_envelope()) << "a commitment receipt never purges";
    // Its batch-form receipt is no full receipt.
    EXPECT_FALSE(ApplyReceipts(*vault, {{id, Entry(*vault, id).commitment_receipt()}}).ok());
    EXPECT_TRUE(Entry(*vault, id).has_envelope());
  }
}

TEST_F(ClientCoreTest, DraftsAreEditableAndSealingOneRemovesItInTheSameCommit) {
  auto vault = MakeMonitor();
  v1::Testimony incomplete;
  incomplete.set_narrative("SYNTHETIC draft, not finished");
  absl::StatusOr<std::string> id = SaveDraft(*vault, incomplete);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ((*CountByState(*vault))["draft"], 1u);
  // Editable: a draft is the device's own, unlike a sealed record.
  ASSERT_TRUE(SaveDraft(*vault, SampleTestimony(7), *id).ok());
  EXPECT_EQ(LoadDraft(*vault, *id)->narrative(), SampleTestimony(7).narrative());
  EXPECT_EQ(SaveDraft(*vault, SampleTestimony(7), "0000000000000000").status().code(),
            absl::StatusCode::kNotFound);

  SealOptions options;
  options.consumed_drafts = {*id};
  ASSERT_TRUE(SealTestimonies(*vault, {*LoadDraft(*vault, *id)}, options).ok());
  auto counts = *CountByState(*vault);
  EXPECT_EQ(counts["draft"], 0u);
  EXPECT_EQ(counts["sealed"], 1u);
  EXPECT_EQ(LoadDraft(*vault, *id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientCoreTest, AnInvalidDraftStaysADraftWhenSealingFails) {
  auto vault = MakeMonitor();
  v1::Testimony bad = SampleTestimony(1);
  bad.mutable_acts(0)->set_type("not_a_code");
  std::string id = *SaveDraft(*vault, bad);
  SealOptions options;
  options.consumed_drafts = {id};
  EXPECT_FALSE(SealTestimonies(*vault, {bad}, options).ok());
  EXPECT_TRUE(LoadDraft(*vault, id).ok());
  EXPECT_EQ((*CountByState(*vault))["sealed"], 0u);
}

TEST_F(ClientCoreTest, KeepPolicyStoresTheReceiptBesideTheSealedCopy) {
  auto vault = MakeMonitor();
  ASSERT_TRUE(SetKeepSealedCopies(*vault, true).ok());
  auto sealed = SealTestimonies(*vault, {SampleTestimony(0)});
  ASSERT_TRUE(sealed.ok());
  const std::string id = (*sealed)[0].record_id;
  v1::Envelope envelope = Entry(*vault, id).envelope();
  ASSERT_TRUE(ApplyReceipts(*vault, {{id, ReceiptFor(envelope, 1, server_)}}).ok());
  EXPECT_EQ(Entry(*vault, id).state(), v1::RECORD_STATE_RECEIVED);
  EXPECT_TRUE(Entry(*vault, id).has_envelope());
  EXPECT_TRUE(PendingRecords(*vault)->empty());  // nothing is uploaded again
  EXPECT_EQ((*CountByState(*vault))["received"], 1u);
}

class ReviewDeskTest : public ClientCoreTest {
 protected:
  void SetUp() override {
    ClientCoreTest::SetUp();
    monitor_ = MakeMonitor();
    reviewer_ = MakeDevice("reviewer", v1::ROLE_REVIEWER, reviewer_key_, reviewer_box_);
  }

  v1::Grant GrantFor(const crypto::SigningKey& org) {
    v1::Grant grant;
    *grant.mutable_key() = crypto::SignProjectKey(project_body_, org);
    grant.set_sealed_secret(*crypto::WrapEpochSecret(epoch_key_, project_body_.project_id(), 1,
                                                     reviewer_box_.public_key()));
    return grant;
  }

  v1::FetchedRecord Fetched(const v1::Envelope& envelope, uint64_t index) {
    v1::FetchedRecord record;
    v1::RecordHeader header;
    header.ParseFromString(envelope.header());
    record.mutable_summary()->set_record_id(header.record_id());
    record.mutable_summary()->set_project("alpha");
    record.mutable_summary()->set_device_id(header.device_id());
    record.mutable_summary()->set_device_seq(header.device_seq());
    record.mutable_summary()->set_log_index(index);
    *record.mutable_envelope() = envelope;
    *record.mutable_receipt() = ReceiptFor(envelope, index, server_);
    record.set_device_signing_key(monitor_key_.public_key());
    *record.mutable_device_certificate() = MonitorCertificate(monitor_key_);
    return record;
  }

  // The monitor's certificate under an invite the organisation authorised.
  v1::DeviceCertificate MonitorCertificate(const crypto::SigningKey& device_key) {
    crypto::SigningKey invite = crypto::SigningKey::Generate();
    v1::InviteAuthorisationBody body;
    body.set_role(v1::ROLE_MONITOR);
    body.set_project("alpha");
    body.set_project_id(project_body_.project_id());
    body.set_invite_public_key(invite.public_key());
    return crypto::IssueDeviceCertificate(crypto::SignInviteAuthorisation(body, org_), invite,
                                          device_key, monitor_box_.public_key());
  }

  std::unique_ptr<Vault> monitor_, reviewer_;
  crypto::SigningKey reviewer_key_ = crypto::SigningKey::Generate();
  crypto::BoxKeyPair reviewer_box_ = crypto::BoxKeyPair::Generate();
};

TEST_F(ReviewDeskTest, GrantedReviewerOpensRecordsAndOneBadRecordSparesTheRest) {
  ASSERT_TRUE(StoreGrant(*reviewer_, GrantFor(org_)).ok());
  auto sealed = SealTestimonies(*monitor_, {SampleTestimony(0), SampleTestimony(1)});
  ASSERT_TRUE(sealed.ok());
  auto pending = PendingRecords(*monitor_);
  v1::Envelope good = (*pending)[0].envelope();
  v1::Envelope tampered = (*pending)[1].envelope();
  tampered.mutable_ciphertext()->back() ^= 0x01;
  ASSERT_TRUE(StoreFetched(*reviewer_, {Fetched(good, 1), Fetched(tampered, 2)}).ok());

  absl::StatusOr<OpenedDesk> desk = OpenDesk(*reviewer_);
  ASSERT_TRUE(desk.ok()) << desk.status();
  ASSERT_EQ(desk->records.size(), 1u);
  EXPECT_EQ(desk->records[0].testimony.narrative(), SampleTestimony(0).narrative());
  EXPECT_TRUE(desk->records[0].verified) << desk->records[0].unverified_reason;
  ASSERT_EQ(desk->failures.size(), 1u);
  EXPECT_EQ(desk->failures[0].record_id, (*sealed)[1].record_id);
}

TEST_F(ReviewDeskTest, GrantSignedByAnotherOrganisationIsRefused) {
  crypto::SigningKey rogue = crypto::SigningKey::Generate();
  EXPECT_EQ(StoreGrant(*reviewer_, GrantFor(rogue)).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(ReviewDeskTest, RecordWithAForgedReceiptIsShownUnverified) {
  ASSERT_TRUE(StoreGrant(*reviewer_, GrantFor(org_)).ok());
  ASSERT_TRUE(SealTestimonies(*monitor_, {SampleTestimony(0)}).ok());
  v1::FetchedRecord record = Fetched(PendingRecords(*monitor_)->at(0).envelope(), 1);
  *record.mutable_receipt() = ReceiptFor(record.envelope(), 1, crypto::SigningKey::Generate());
  ASSERT_TRUE(StoreFetched(*reviewer_, {record}).ok());
  auto desk = OpenDesk(*reviewer_);
  ASSERT_TRUE(desk.ok());
  ASSERT_EQ(desk->records.size(), 1u);
  EXPECT_FALSE(desk->records[0].verified);
  EXPECT_EQ(desk->records[0].unverified_reason, "the server's receipt does not verify");
}

TEST_F(ReviewDeskTest, RecordSignedByAKeyTheServerMadeForARealDeviceIdIsUnverified) {
  ASSERT_TRUE(StoreGrant(*reviewer_, GrantFor(org_)).ok());
  ASSERT_TRUE(SealTestimonies(*monitor_, {SampleTestimony(0)}).ok());
  v1::FetchedRecord record = Fetched(PendingRecords(*monitor_)->at(0).envelope(), 1);
  // The server's own key, in a certificate it cannot have the organisation sign.
  *record.mutable_device_certificate() = MonitorCertificate(crypto::SigningKey::Generate());
  ASSERT_TRUE(StoreFetched(*reviewer_, {record}).ok());
  auto desk = OpenDesk(*reviewer_);
  ASSERT_TRUE(desk.ok());
  ASSERT_EQ(desk->records.size(), 1u);
  EXPECT_FALSE(desk->records[0].verified);
}

TEST_F(ReviewDeskTest, RecordWithoutACertificateIsUnverified) {
  ASSERT_TRUE(StoreGrant(*reviewer_, GrantFor(org_)).ok());
  ASSERT_TRUE(SealTestimonies(*monitor_, {SampleTestimony(0)}).ok());
  v1::FetchedRecord record = Fetched(PendingRecords(*monitor_)->at(0).envelope(), 1);
  record.clear_device_certificate();
  ASSERT_TRUE(StoreFetched(*reviewer_, {record}).ok());
  auto desk = OpenDesk(*reviewer_);
  ASSERT_TRUE(desk.ok());
  ASSERT_EQ(desk->records.size(), 1u);
  EXPECT_FALSE(desk->records[0].verified);
  EXPECT_EQ(desk->records[0].unverified_reason, "the server sent no certificate for its device");
}

TEST(ExportTest, CsvQuotesAndDefusesFormulas) {
  EXPECT_EQ(CsvCell("plain", true), "plain");
  EXPECT_EQ(CsvCell("a,b", true), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"x\"", true), "\"say \"\"x\"\"\"");
  EXPECT_EQ(CsvCell("=HYPERLINK(\"x\")", true), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(CsvCell("-3.5", false), "-3.5");  // numbers are not text
  EXPECT_EQ(CsvCell("@cmd", true), "'@cmd");
}

TEST(ExportTest, JsonAndCsvCarryEveryRecordWithTheContractColumns) {
  std::vector<OpenedRecord> records;
  for (int i = 0; i < 3; ++i) {
    OpenedRecord r;
    r.record_id = std::string(16, static_cast<char>(i));
    r.project = "alpha";
    r.device_id = std::string(16, '\x7f');
    r.device_seq = static_cast<uint64_t>(i + 1);
    r.received_at = 3600;
    r.testimony = SampleTestimony(i);
    records.push_back(r);
  }
  records[2].testimony.add_victims()->set_name("second victim");
  absl::StatusOr<std::string> json = ExportJson(records);
  ASSERT_TRUE(json.ok());
  nlohmann::json parsed = nlohmann::json::parse(*json);
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[1]["record_id"], "01010101010101010101010101010101");
  EXPECT_EQ(parsed[0]["received_at"], "1970-01-01T01:00:00Z");
  EXPECT_EQ(parsed[2]["device_seq"], 3);
  EXPECT_EQ(parsed[0]["testimony"]["acts"][0]["type"], "abduction");

  absl::StatusOr<std::string> csv = ExportCsv(records);
  ASSERT_TRUE(csv.ok());
  EXPECT_EQ(csv->rfind("record_id,project,device_id,device_seq,received_at,", 0), 0u);
  EXPECT_NE(csv->find("testimony.victims.1.name"), std::string::npos);
  size_t rows = 0;
  for (size_t pos = 0; (pos = csv->find("\r\n", pos)) != std::string::npos; pos += 2) ++rows;
  EXPECT_EQ(rows, 4u);  // header + 3
}

TEST(ExportTest, CoordinatesNotTakenAreNullNotZero) {
  OpenedRecord none;
  none.record_id = std::string(16, '\1');
  none.testimony = SampleTestimony(0);
  none.testimony.mutable_incident()->clear_latitude();
  none.testimony.mutable_incident()->clear_longitude();
  none.testimony.mutable_incident()->clear_precision_m();
  OpenedRecord taken = none;
  taken.record_id = std::string(16, '\2');
  taken.testimony.mutable_incident()->set_latitude(14.49);
  taken.testimony.mutable_incident()->set_longitude(-4.19);
  taken.testimony.mutable_incident()->set_precision_m(20);
  absl::StatusOr<std::string> json = ExportJson({none, taken});
  ASSERT_TRUE(json.ok());
  nlohmann::json parsed = nlohmann::json::parse(*json);
  EXPECT_TRUE(parsed[0]["testimony"]["incident"]["latitude"].is_null()) << *json;
  EXPECT_TRUE(parsed[0]["testimony"]["incident"]["longitude"].is_null());
  EXPECT_TRUE(parsed[0]["testimony"]["incident"]["precision_m"].is_null());
  EXPECT_EQ(parsed[1]["testimony"]["incident"]["latitude"], 14.49);
  EXPECT_EQ(parsed[1]["testimony"]["incident"]["precision_m"], 20);
  absl::StatusOr<std::string> shown = RecordJson(none);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->find("\"latitude\": 0"), std::string::npos) << *shown;
}

}  // namespace
}  // namespace temoin::client
