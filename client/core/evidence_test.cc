// Evidence packages in process: a record sealed, receipted, logged and checkpointed with
// real keys, written as a package, then verified whole and with each part tampered.
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "client/core/evidence_package.h"
#include "client/core/evidence_verify.h"
#include "common/encoding.h"
#include "crypto/attachment_stream.h"
#include "crypto/auth.h"
#include "crypto/checkpoint.h"
#include "crypto/device_certificate.h"
#include "crypto/envelope.h"
#include "crypto/keys.h"
#include "crypto/log_leaf.h"
#include "crypto/merkle.h"
#include "crypto/receipt.h"
#include "crypto/server_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace temoin::client {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace merkle = crypto::merkle;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A log kept as the server keeps it: every complete subtree by (level, index).
class Log {
 public:
  void Append(absl::string_view leaf) {
    auto nodes = merkle::NodesCompletedBy(Reader(), size_, merkle::HashLeaf(leaf));
    ASSERT_TRUE(nodes.ok()) << nodes.status();
    for (merkle::Node& node : *nodes) nodes_[{node.level, node.index}] = std::move(node.hash);
    ++size_;
  }
  merkle::NodeReader Reader() {
    return [this](int level, uint64_t index) -> absl::StatusOr<std::string> {
      auto it = nodes_.find({level, index});
      if (it == nodes_.end()) return absl::NotFoundError("no such node");
      return it->second;
    };
  }
  uint64_t size() const { return size_; }

 private:
  std::map<std::pair<int, uint64_t>, std::string> nodes_;
  uint64_t size_ = 0;
};

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    dir_ = (std::filesystem::temp_directory_path() /
            absl::StrCat("temoin-evidence-test-", ToHex(crypto::RandomBytes(8))))
               .string();
    BuildInput();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void BuildInput() {
    // Organisation -> invite -> monitor device.
    v1::InviteAuthorisationBody auth;
    auth.set_role(v1::ROLE_MONITOR);
    auth.set_project("mopti-2026");
    auth.set_project_id(std::string(16, '\x07'));
    auth.set_expires_at(1'800'000'000);
    auth.set_invite_public_key(invite_key_.public_key());
    const v1::InviteAuthorisation signed_auth = crypto::SignInviteAuthorisation(auth, org_key_);
    input_.certificate = crypto::IssueDeviceCertificate(signed_auth, invite_key_, device_key_,
                                                        device_box_.public_key());
    const std::string device_id =
        crypto::DeviceIdFromKeys(device_key_.public_key(), device_box_.public_key());

    // One attachment, then the record that names it.
    crypto::SecretBuffer attachment_key = crypto::SecretBuffer::Random(32);
    const std::string blob_id(16, '\x42');
    absl::StatusOr<std::string> stream =
        crypto::EncryptAttachment(attachment_key, blob_id, "synthetic photo bytes");
    ASSERT_TRUE(stream.ok()) << stream.status();
    v1::AttachmentRef ref;
    ref.set_blob_id(blob_id);
    ref.set_size(stream->size());
    std::string hash(32, '\0');
    crypto_generichash(reinterpret_cast<unsigned char*>(hash.data()), 32,
                       reinterpret_cast<const unsigned char*>(stream->data()), stream->size(),
                       nullptr, 0);
    ref.set_ciphertext_hash(hash);
    v1::Testimony testimony;
    testimony.set_narrative("Synthetic narrative: a market stall burned at dawn.");
    testimony.set_language("fr");
    testimony.mutable_incident()->set_region("mopti");
    v1::AttachmentInfo* info = testimony.add_attachments();
    info->set_blob_id(blob_id);
    info->set_file_name("photo.jpg");
    info->set_size(21);
    info->set_key(std::string(attachment_key.ExposeSecret()));
    crypto::SealParams params;
    params.device_seq = 3;
    params.project_id = auth.project_id();
    params.device_id = device_id;
    params.recipients = {{project_key_.public_key(), 1}};
    params.attachments = {ref};
    absl::StatusOr<v1::Envelope> envelope = crypto::SealRecord(testimony, params, device_key_);
    ASSERT_TRUE(envelope.ok()) << envelope.status();
    input_.envelope = *envelope;
    v1::RecordHeader header;
    ASSERT_TRUE(header.ParseFromString(envelope->header()));

    // The server: a batch receipt naming log index 2, and the log of four records.
    v1::ReceiptBody body;
    body.set_format_version(1);
    body.set_record_id(header.record_id());
    body.set_digest(crypto::RecordDigest(*envelope));
    body.set_log_index(2);
    body.set_received_at(1'764'835'200);
    body.set_server_key_id("k1");
    std::vector<v1::ReceiptBody> bodies(2, body);
    bodies[0].set_record_id(std::string(16, '\x01'));
    std::vector<v1::Receipt> receipts = crypto::SignBatchReceipts(bodies, receipt_key_);
    ASSERT_EQ(receipts.size(), 2u);
    input_.receipt = receipts[1];
    const std::string leaf = crypto::EncodeLogLeaf({.log_index = 2,
                                                    .record_id = header.record_id(),
                                                    .digest = body.digest(),
                                                    .device_id = device_id,
                                                    .device_seq = 3,
                                                    .received_hour = body.received_at()});
    log_.Append("earlier record");
    log_.Append(leaf);
    older_note_ = Checkpoint();
    log_.Append("later record");
    log_.Append("another later record");
    input_.checkpoint_note = Checkpoint();
    auto proof = merkle::InclusionProof(log_.Reader(), 1, log_.size());
    ASSERT_TRUE(proof.ok()) << proof.status();
    input_.inclusion_proof = *proof;

    input_.org_public_key = org_key_.public_key();
    input_.receipt_public_key = receipt_key_.public_key();
    input_.log_vkey = crypto::FormatVkey(kOrigin, log_key_.public_key());
    input_.log_vkey_signature = receipt_key_.Sign(crypto::kLogKeyContext, input_.log_vkey);
    // The organisation's statement of the server's keys, as an admin certifies it.
    crypto::ServerKeys server_keys{.issued = 1764835200,
                                   .receipt_keys = {{.key = receipt_key_.public_key()}},
                                   .log_keys = {{.key = input_.log_vkey}}};
    absl::StatusOr<std::string> statement = crypto::FormatServerKeys(server_keys);
    ASSERT_TRUE(statement.ok()) << statement.status();
    input_.server_keys_body = *statement;
    input_.server_keys_signature = org_key_.Sign(crypto::kServerKeysContext, *statement);
    input_.attachments.push_back({blob_id, *stream, std::string(attachment_key.ExposeSecret())});
    input_.disclose = true;
    input_.testimony = testimony.SerializeAsString();
    absl::StatusOr<crypto::SecretBuffer> data_key = crypto::UnwrapDataKey(*envelope, project_key_);
    ASSERT_TRUE(data_key.ok()) << data_key.status();
    input_.data_key = std::string(data_key->ExposeSecret());
  }

  std::string Checkpoint() {
    auto root = merkle::Root(log_.Reader(), log_.size());
    EXPECT_TRUE(root.ok());
    auto note = crypto::SignCheckpoint(
        {.origin = kOrigin, .size = log_.size(), .root = *root, .extensions = {}}, log_key_);
    EXPECT_TRUE(note.ok());
    return *note;
  }

  EvidenceReport Verify(const EvidenceVerifyOptions& options = {}) {
    absl::StatusOr<EvidenceReport> report = VerifyEvidencePackage(dir_, options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : EvidenceReport{};
  }

  // Changes a file and updates its manifest entry, as someone forging a package would.
  void Replace(const std::string& name, const std::string& bytes) {
    WriteAll(absl::StrCat(dir_, "/", name), bytes);
    nlohmann::json manifest = nlohmann::json::parse(ReadAll(dir_ + "/manifest.json"));
    unsigned char digest[32];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    for (auto& entry : manifest["files"]) {
      if (entry["name"] == name) {
        entry["sha256"] = ToHex(std::string(reinterpret_cast<char*>(digest), 32));
      }
    }
    WriteAll(dir_ + "/manifest.json", manifest.dump());
  }
  void FlipByte(const std::string& name, size_t from_end) {
    std::string bytes = ReadAll(absl::StrCat(dir_, "/", name));
    bytes[bytes.size() - from_end] ^= 0x01;
    Replace(name, bytes);
  }

  static constexpr char kOrigin[] = "temoin.log/0011223344556677";
  crypto::SigningKey org_key_ = crypto::SigningKey::Generate();
  crypto::SigningKey invite_key_ = crypto::SigningKey::Generate();
  crypto::SigningKey device_key_ = crypto::SigningKey::Generate();
  crypto::BoxKeyPair device_box_ = crypto::BoxKeyPair::Generate();
  crypto::BoxKeyPair project_key_ = crypto::BoxKeyPair::Generate();
  crypto::SigningKey receipt_key_ = crypto::SigningKey::Generate();
  crypto::SigningKey log_key_ = crypto::SigningKey::Generate();
  Log log_;
  std::string older_note_;
  EvidenceInput input_;
  std::string dir_;
};

TEST_F(EvidenceTest, ADisclosedPackageVerifiesEveryPart) {
  ASSERT_TRUE(WriteEvidencePackage(dir_, input_).ok());
  EvidenceReport report = Verify({.org_public_key = org_key_.public_key()});
  EXPECT_TRUE(report.ok()) << EvidenceReportText(report);
  std::vector<std::string> names;
  for (const EvidenceCheck& check : report.checks) names.push_back(check.name);
  EXPECT_THAT(
      names, ElementsAre("manifest", "org-key", "device-certificate", "record-signature", "receipt",
                         "log-key", "checkpoint-signature", "log-leaf", "inclusion-proof",
                         "server-keys", "receipt-key-certified", "log-key-certified", "testimony",
                         "attachment 42424242424242424242424242424242"));
  EXPECT_THAT(EvidenceReportText(report), HasSubstr("VERIFIED: every check passed"));
  EXPECT_THAT(EvidenceReportText(report), HasSubstr("leaf 1 is in the checkpoint's tree of 4"));
  EXPECT_THAT(EvidenceReportText(report), HasSubstr("\"photo.jpg\""));
}

TEST_F(EvidenceTest, ASealedPackageHoldsNoKeyAndVerifies) {
  input_.disclose = false;
  ASSERT_TRUE(WriteEvidencePackage(dir_, input_).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data-key.hex"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/testimony.json"));
  EvidenceReport report = Verify();
  EXPECT_TRUE(report.ok()) << EvidenceReportText(report);
  EXPECT_FALSE(report.disclosed);
}

TEST_F(EvidenceTest, EachTamperedPartIsRefusedByName) {
  struct Case {
    const char* what;
    std::function<void()> tamper;
    const char* refused;
  };
  const std::string attachment = "attachments/42424242424242424242424242424242.enc";
  std::vector<Case> cases = {
      {"a ciphertext byte of the envelope", [&] { FlipByte("envelope.pb", 300); },
       "record-signature"},
      {"the disclosed testimony",
       [&] {
         std::string json = ReadAll(dir_ + "/testimony.json");
         json.replace(json.find("market"), 6, "museum");
         Replace("testimony.json", json);
       },
       "testimony"},
      {"an attachment byte", [&] { FlipByte(attachment, 5); },
       "attachment 42424242424242424242424242424242"},
      {"the inclusion proof", [&] { FlipByte("inclusion-proof.hex", 2); }, "inclusion-proof"},
      {"the checkpoint's signature", [&] { FlipByte("checkpoint.note", 6); },
       "checkpoint-signature"},
      {"the enrolment certificate", [&] { FlipByte("device-certificate.pb", 3); },
       "device-certificate"},
      {"an older checkpoint", [&] { Replace("checkpoint.note", older_note_); }, "inclusion-proof"},
      {"a file changed but not its manifest entry",
       [&] {
         std::string receipt = ReadAll(dir_ + "/receipt.pb");
         receipt[receipt.size() - 1] ^= 1;
         WriteAll(dir_ + "/receipt.pb", receipt);
       },
       "manifest"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(WriteEvidencePackage(dir_, input_).ok());
    c.tamper();
    EvidenceReport report = Verify();
    EXPECT_FALSE(report.ok());
    EXPECT_THAT(report.failed(), Contains(c.refused)) << EvidenceReportText(report);
    EXPECT_THAT(EvidenceReportText(report), HasSubstr(absl::StrCat("FAIL ", c.refused)));
  }
}

TEST_F(EvidenceTest, AnotherOrganisationKeyIsRefused) {
  ASSERT_TRUE(WriteEvidencePackage(dir_, input_).ok());
  EvidenceReport report = Verify({.org_public_key = crypto::SigningKey::Generate().public_key()});
  EXPECT_THAT(report.failed(), ElementsAre("org-key"));
  report = Verify(
      {.log_vkey = crypto::FormatVkey(kOrigin, crypto::SigningKey::Generate().public_key())});
  EXPECT_THAT(report.failed(), Contains("log-key"));
  EXPECT_THAT(report.failed(), Contains("checkpoint-signature"));
}

TEST_F(EvidenceTest, AHostileFolderGivesFailedChecksNotACrash) {
  std::filesystem::create_directories(dir_);
  WriteAll(dir_ + "/manifest.json", R"({"format": 7, "files": "x", "disclosed": "yes"})");
  WriteAll(dir_ + "/envelope.pb", "\xff\xff\xff");
  WriteAll(dir_ + "/testimony.json", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
  EvidenceReport report = Verify();
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.failed(), Contains("manifest"));
  EXPECT_THAT(report.failed(), Contains("record-signature"));
  EXPECT_THAT(report.failed(), Contains("inclusion-proof"));
  EXPECT_EQ(VerifyEvidencePackage(dir_ + "/nothing-here", {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(EvidenceTest, WritingIntoAFolderThatHoldsFilesIsRefused) {
  std::filesystem::create_directories(dir_);
  WriteAll(dir_ + "/other", "x");
  EXPECT_EQ(WriteEvidencePackage(dir_, input_).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace temoin::client
