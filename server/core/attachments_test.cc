// Hostile and unit tests of the upload pieces added for field sync: resumable
// attachment slices (sent whole or in pieces), commitments, offline bundles (imported or relayed)
// and revoked devices, on MemoryStore through temoin::server::Core. Every refusal must come with a
// clear error and leave nothing stored. Synthetic data only.

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/vocabulary.h"
#include "crypto/attachment_stream.h"
#include "crypto/auth.h"
#include "crypto/commitment_batch.h"
#include "crypto/envelope.h"
#include "crypto/keys.h"
#include "crypto/project_keys.h"
#include "crypto/receipt.h"
#include "crypto/sodium_init.h"
#include "server/core/attachments.h"
#include "server/core/bundle_import.h"
#include "server/core/core.h"
#include "server/core/piece_stream.h"
#include "server/core/relay_spool.h"
#include "server/core/sync_keys.h"
#include "server/core/testing/fake_device.h"
#include "server/storage/memory_store.h"
#include "temoin/v1/testimony.pb.h"

namespace temoin::server {
namespace {

using ::temoin::server::testing::FakeDevice;
using ::temoin::server::testing::Must;

using ::absl::StatusCode;

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

std::string Blake2b256(absl::string_view data) {
  std::string hash(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(hash.data()), hash.size(),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr, 0);
  return hash;
}

// An attachment as the client makes it: the encrypted stream and its header entry.
struct Blob {
  v1::AttachmentRef ref;
  std::string stream;
  std::vector<std::string> slices;  // kUploadChunkBytes each but the last
};

Blob MakeBlob(size_t plaintext_bytes, char fill) {
  Blob blob;
  blob.ref.set_blob_id(crypto::RandomBytes(16));
  crypto::SecretBuffer key = crypto::SecretBuffer::Random(32);
  blob.stream =
      Must(crypto::EncryptAttachment(key, blob.ref.blob_id(), std::string(plaintext_bytes, fill)),
           "encrypt attachment");
  blob.ref.set_size(blob.stream.size());
  blob.ref.set_ciphertext_hash(Blake2b256(blob.stream));
  for (size_t at = 0; at < blob.stream.size(); at += kUploadChunkBytes) {
    blob.slices.push_back(blob.stream.substr(at, kUploadChunkBytes));
  }
  return blob;
}

class UploadPiecesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitializeCrypto().ok()); }

  void SetUp() override {
    v1::ServerConfig config;
    config.set_org_name("Synthetic Rights Org");
    WriteBatch batch;
    batch.Put(keys::Config(), config.SerializeAsString());
    ASSERT_TRUE(store_.Commit(batch).ok());
    core_ = std::make_unique<Core>(&store_, &clock_, crypto::SigningKey::Generate(),
                                   Must(DefaultVocabulary(), "vocabulary"));
    core_->set_bundle_key(crypto::BoxKeyPair::Generate());
    admin_.org = crypto::SigningKey::Generate();
    Enroll(admin_,
           Must(core_->enrollment().CreateInvite(v1::ROLE_ADMIN, "", 0, true), "boot").token());
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
    for (FakeDevice* monitor : {&monitor_, &other_}) {
      v1::CreateInviteRequest invite;
      invite.set_role(v1::ROLE_MONITOR);
      invite.set_project("alpha");
      Enroll(*monitor, Must(core_->admin().CreateInvite(admin_session, invite), "invite").token());
    }
  }

  void Enroll(FakeDevice& device, const std::string& token) {
    v1::EnrollResponse enrolled =
        Must(core_->enrollment().Enroll(device.EnrollRequest(token)), "enrol");
    device.id = enrolled.device_id();
    receipt_public_key_ = enrolled.server_signing_key();
  }

  Session SignIn(const FakeDevice& device) {
    std::string nonce = Must(core_->sessions().IssueChallenge(device.id), "challenge");
    std::string signature =
        device.signing.Sign(crypto::kAuthContext, crypto::AuthChallengeMessage(nonce, device.id));
    return Must(core_->sessions().Verify(Must(
                    core_->sessions().Authenticate(device.id, nonce, signature), "authenticate")),
                "verify");
  }

  v1::Envelope Seal(FakeDevice& device, const std::vector<v1::AttachmentRef>& attachments = {},
                    std::string record_id = "") {
    crypto::SealParams params;
    params.record_id = record_id.empty() ? crypto::RandomBytes(crypto::kRecordIdBytes) : record_id;
    params.device_seq = device.next_seq++;
    params.project_id = project_id_;
    params.device_id = device.id;
    params.recipients = {{epoch_key_.public_key(), 1}};
    params.attachments = attachments;
    return Must(crypto::SealRecord(SyntheticTestimony(params.device_seq), params, device.signing),
                "seal");
  }

  static std::string IdOf(const v1::Envelope& envelope) {
    v1::RecordHeader header;
    header.ParseFromString(envelope.header());
    return header.record_id();
  }

  std::vector<v1::RecordResult> Upload(const Session& session,
                                       const std::vector<v1::Envelope>& records) {
    google::protobuf::RepeatedPtrField<v1::Envelope> field(records.begin(), records.end());
    return Must(core_->ingest().UploadBatch(session, field), "upload batch");
  }

  std::vector<v1::RecordResult> Commit(const Session& session,
                                       const std::vector<v1::Commitment>& items) {
    google::protobuf::RepeatedPtrField<v1::Commitment> field(items.begin(), items.end());
    return Must(core_->ingest().CommitBatch(session, field), "commit batch");
  }

  absl::StatusOr<v1::BlobStatus> Slice(const Session& session, const v1::Envelope& record,
                                       const Blob& blob, uint64_t index,
                                       std::optional<std::string> data = std::nullopt) {
    v1::AttachmentChunk chunk;
    chunk.set_record_id(IdOf(record));
    chunk.set_blob_id(blob.ref.blob_id());
    chunk.set_index(index);
    chunk.set_data(data.has_value() ? *data : blob.slices[index]);
    return core_->attachments().UploadChunk(session, chunk);
  }

  // Piece `size` bytes at `offset` of slice `index` (or `data` instead of the blob's).
  absl::StatusOr<v1::BlobStatus> Piece(const Session& session, const v1::Envelope& record,
                                       const Blob& blob, uint64_t index, uint64_t offset,
                                       uint64_t size,
                                       std::optional<std::string> data = std::nullopt) {
    v1::AttachmentChunk chunk;
    chunk.set_record_id(IdOf(record));
    chunk.set_blob_id(blob.ref.blob_id());
    chunk.set_index(index);
    chunk.set_offset(static_cast<uint32_t>(offset));
    chunk.set_data(data.has_value() ? *data : blob.slices[index].substr(offset, size));
    return core_->attachments().UploadChunk(session, chunk);
  }

  // Every piece of slice `index` from `from`, in pieces of `piece` bytes.
  absl::StatusOr<v1::BlobStatus> Pieces(const Session& session, const v1::Envelope& record,
                                        const Blob& blob, uint64_t index, uint64_t from,
                                        uint64_t piece) {
    absl::StatusOr<v1::BlobStatus> last = absl::InternalError("no piece sent");
    for (uint64_t at = from; at < blob.slices[index].size(); at += piece) {
      last = Piece(session, record, blob, index, at, piece);
      if (!last.ok()) return last;
    }
    return last;
  }

  // Rows under `prefix`: what is stored of a blob.
  int Rows(const std::string& prefix) {
    int rows = 0;
    EXPECT_TRUE(store_
                    .Scan(prefix, "",
                          [&](absl::string_view, absl::string_view) {
                            ++rows;
                            return true;
                          })
                    .ok());
    return rows;
  }

  uint64_t PartialBytes() {
    auto value = Must(store_.Get(keys::PartialBytes()), "partial bytes");
    return value.has_value() ? DecodeU64BigEndian(*value) : 0;
  }

  v1::BlobStatus Query(const Session& session, const Blob& blob) {
    v1::QueryAttachmentsRequest request;
    request.add_blob_ids(blob.ref.blob_id());
    v1::QueryAttachmentsResponse response =
        Must(core_->attachments().Query(session, request), "query");
    EXPECT_EQ(response.blobs_size(), 1);
    return response.blobs_size() == 1 ? response.blobs(0) : v1::BlobStatus();
  }

  bool Stored(const std::string& record_id) {
    return !Must(core_->registry().RecordsWithId(record_id), "record lookup").empty();
  }

  std::string BundleFile(const FakeDevice& device, const std::vector<v1::Envelope>& records,
                         const std::string& server_public_key) {
    v1::Bundle bundle;
    bundle.set_device_id(device.id);
    for (const v1::Envelope& record : records) *bundle.add_records() = record;
    return SealBundle(bundle, server_public_key);
  }

  static std::string SealBundle(const v1::Bundle& bundle, const std::string& server_public_key) {
    return SealPlaintext(bundle.SerializeAsString(), server_public_key);
  }

  static std::string SealPlaintext(const std::string& plaintext,
                                   const std::string& server_public_key) {
    crypto::SecretBuffer key = crypto::SecretBuffer::Random(32);
    v1::SealedBundle sealed;
    sealed.set_bundle_id(crypto::RandomBytes(16));
    sealed.set_sealed_key(
        Must(crypto::SealToPublicKey(key.ExposeSecret(), server_public_key), "seal key"));
    sealed.set_stream(
        Must(crypto::EncryptAttachment(key, sealed.bundle_id(), plaintext), "stream"));
    return std::string(kBundleMagic) + sealed.SerializeAsString();
  }

  void SetRevoked(const std::string& device_id) {
    v1::StoredDevice device = *Must(core_->registry().Device(device_id), "device");
    device.set_revoked(true);
    WriteBatch batch;
    batch.Put(keys::Device(device_id), device.SerializeAsString());
    ASSERT_TRUE(store_.Commit(batch).ok());
  }

  FakeClock clock_{kStartTime};
  MemoryStore store_;
  std::unique_ptr<Core> core_;
  std::string receipt_public_key_;  // the server's, as enrolment gives it
  FakeDevice admin_, monitor_, other_;
  std::string project_id_;
  crypto::BoxKeyPair epoch_key_ = crypto::BoxKeyPair::Generate();
};

TEST_F(UploadPiecesTest, SliceForAnUnknownBlobIsNotFoundAndStoresNothing) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(1000, 'a');
  v1::Envelope record = Seal(monitor_);  // its header names no blob
  Upload(session, {record});
  absl::StatusOr<v1::BlobStatus> s = Slice(session, record, blob, 0);
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound) << s.status();
  EXPECT_EQ(Query(session, blob).code(), static_cast<int>(StatusCode::kNotFound));
}

TEST_F(UploadPiecesTest, SlicesOutOfOrderRepeatedAndOversizedAreRefused) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(150'000, 'b');  // three slices
  ASSERT_EQ(blob.slices.size(), 3u);
  v1::Envelope record = Seal(monitor_, {blob.ref});
  ASSERT_TRUE(Upload(session, {record})[0].awaiting_attachments());

  absl::StatusOr<v1::BlobStatus> s = Slice(session, record, blob, 1);
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition) << s.status();
  EXPECT_EQ(Query(session, blob).next_index(), 0u) << "an out-of-order slice was kept";

  ASSERT_TRUE(Slice(session, record, blob, 0).ok());
  s = Slice(session, record, blob, 0);  // a retry of the same slice: fine
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->next_index(), 1u);
  std::string changed = blob.slices[0];
  changed[100] ^= 1;
  s = Slice(session, record, blob, 0, changed);
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition) << s.status();

  // More bytes than a slice holds, then more than the header declares.
  s = Slice(session, record, blob, 1, blob.slices[1] + "x");
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status();
  ASSERT_TRUE(Slice(session, record, blob, 1).ok());
  s = Slice(session, record, blob, 2, blob.slices[2] + std::string(kUploadChunkBytes, 'x'));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Query(session, blob).next_index(), 2u);
  EXPECT_FALSE(Stored(IdOf(record))) << "a record with a refused attachment got stored";
}

// The client's unit: an eighth of a slice (client/core/attachments.h kUploadPieceBytes).
constexpr uint64_t kPiece = (kUploadChunkBytes + 7) / 8;

TEST_F(UploadPiecesTest, PiecesInOrderAreKeptAndPromotedToWholeSlices) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(150'000, 'p');  // three slices, the last ~19 KB
  ASSERT_EQ(blob.slices.size(), 3u);
  v1::Envelope record = Seal(monitor_, {blob.ref});
  ASSERT_TRUE(Upload(session, {record})[0].awaiting_attachments());
  const std::string pieces = keys::PiecePrefix(monitor_.id, blob.ref.blob_id());
  const std::string slices = keys::ChunkPrefix(monitor_.id, blob.ref.blob_id());

  uint64_t held = 0;
  for (uint64_t at = 0; at + kPiece < kUploadChunkBytes; at += kPiece) {
    absl::StatusOr<v1::BlobStatus> s = Piece(session, record, blob, 0, at, kPiece);
    ASSERT_TRUE(s.ok()) << s.status();
    held += kPiece;
    EXPECT_EQ(s->next_index(), 0u);
    EXPECT_EQ(s->next_offset(), held) << "a piece was acknowledged but not counted";
    EXPECT_EQ(Query(session, blob).next_offset(), held);
    EXPECT_EQ(PartialBytes(), held) << "the partial-upload budget must count pieces";
  }
  EXPECT_EQ(Rows(pieces), 7);
  EXPECT_EQ(Rows(slices), 0);
  // The eighth piece makes the slice whole: one slice row, no piece rows.
  absl::StatusOr<v1::BlobStatus> s = Piece(session, record, blob, 0, held, kPiece);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->next_index(), 1u);
  EXPECT_EQ(s->next_offset(), 0u);
  EXPECT_EQ(Rows(pieces), 0);
  EXPECT_EQ(Rows(slices), 1);
  EXPECT_EQ(PartialBytes(), kUploadChunkBytes);

  // Pieces of any size are taken (the client's choice); the last one completes the blob.
  ASSERT_TRUE(Pieces(session, record, blob, 1, 0, 20'000).ok());
  s = Pieces(session, record, blob, 2, 0, 5'000);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->complete());
  EXPECT_TRUE(s->has_receipt());
  EXPECT_TRUE(Stored(IdOf(record)));
  EXPECT_EQ(Rows(pieces), 0);
  EXPECT_EQ(PartialBytes(), 0u) << "a complete blob still counts against the budget";

  // What Fetch reads is unchanged: one row per whole slice, byte-identical.
  std::vector<std::string> rows;
  ASSERT_TRUE(store_
                  .Scan(slices, "",
                        [&](absl::string_view, absl::string_view value) {
                          rows.emplace_back(value);
                          return true;
                        })
                  .ok());
  EXPECT_TRUE(rows == blob.slices);
}

TEST_F(UploadPiecesTest, AStreamCarriesIdsOnceAndAnswersOnlyWhatIsAskedOrFinal) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(100'000, 's');  // two slices
  ASSERT_EQ(blob.slices.size(), 2u);
  v1::Envelope record = Seal(monitor_, {blob.ref});
  ASSERT_TRUE(Upload(session, {record})[0].awaiting_attachments());
  constexpr uint64_t kSmall = 4096;
  auto piece = [&](uint64_t index, uint64_t at, bool with_ids, bool quiet) {
    v1::AttachmentChunk chunk;
    if (with_ids) {
      chunk.set_record_id(IdOf(record));
      chunk.set_blob_id(blob.ref.blob_id());
    }
    chunk.set_index(index);
    chunk.set_offset(static_cast<uint32_t>(at));
    chunk.set_data(blob.slices[index].substr(at, kSmall));
    chunk.set_quiet(quiet);
    return chunk;
  };
  {
    // A stream's first piece must name its blob.
    PieceStream fresh(*core_);
    absl::StatusOr<v1::BlobStatus> s = fresh.Take(session, piece(0, 0, false, false));
    EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound) << s.status();
    EXPECT_EQ(Query(session, blob).next_offset(), 0u) << "a refused piece stored something";
  }
  PieceStream stream(*core_);
  absl::StatusOr<v1::BlobStatus> s = stream.Take(session, piece(0, 0, true, true));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->ByteSizeLong(), 0u) << "a quiet piece was answered";
  EXPECT_EQ(Query(session, blob).next_offset(), kSmall) << "a quiet piece was not kept";
  // Without ids: the previous piece's blob. Answered: cumulative, and without ids.
  s = stream.Take(session, piece(0, kSmall, false, false));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->next_offset(), 2 * kSmall);
  EXPECT_TRUE(s->blob_id().empty());
  EXPECT_TRUE(s->record_id().empty());
  // A quiet piece that differs from held bytes is still refused (and stores nothing).
  v1::AttachmentChunk forged = piece(0, 0, false, true);
  forged.mutable_data()->at(7) ^= 1;
  EXPECT_EQ(stream.Take(session, forged).status().code(), absl::StatusCode::kFailedPrecondition);
  // Every other piece quiet: the one completing the blob is answered with the receipt.
  v1::BlobStatus last;
  for (uint64_t index = 0; index < 2; ++index) {
    for (uint64_t at = index == 0 ? 2 * kSmall : 0; at < blob.slices[index].size(); at += kSmall) {
      s = stream.Take(session, piece(index, at, false, true));
      ASSERT_TRUE(s.ok()) << s.status();
      if (s->ByteSizeLong() > 0) last = *s;
    }
  }
  EXPECT_TRUE(last.complete());
  ASSERT_TRUE(last.has_receipt()) << "the completing piece must carry the receipt";
  EXPECT_EQ(last.record_id(), IdOf(record)) << "a receipt names its record";
  EXPECT_TRUE(Stored(IdOf(record)));
}

// What a device that resumes without asking relies on (client/sync/piece_ledger.h):
// after a cut, the repeats of a blob the server holds whole are answered even when
// quiet, saying it is whole, with the receipt once the record is complete. The device
// therefore lets every such piece ask, and stops the blob at the first answer.
TEST_F(UploadPiecesTest, RepeatsOfAWholeBlobAreAnsweredEvenWhenQuiet) {
  Session session = SignIn(monitor_);
  Blob first = MakeBlob(30'000, 'w');
  Blob second = MakeBlob(30'000, 'x');
  v1::Envelope record = Seal(monitor_, {first.ref, second.ref});
  ASSERT_TRUE(Upload(session, {record})[0].awaiting_attachments());
  auto whole_slice = [&](const Blob& blob, bool quiet) {
    v1::AttachmentChunk chunk;
    chunk.set_record_id(IdOf(record));
    chunk.set_blob_id(blob.ref.blob_id());
    chunk.set_data(blob.slices[0]);
    chunk.set_quiet(quiet);
    return chunk;
  };
  {
    PieceStream stream(*core_);
    absl::StatusOr<v1::BlobStatus> s = stream.Take(session, whole_slice(first, false));
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE(s->complete());
  }
  // A new stream (after a cut): the first blob again, quiet. Whole, no receipt yet.
  PieceStream stream(*core_);
  absl::StatusOr<v1::BlobStatus> s = stream.Take(session, whole_slice(first, true));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->complete()) << "a quiet repeat of a whole blob went unanswered";
  EXPECT_FALSE(s->has_receipt());
  s = stream.Take(session, whole_slice(second, false));
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->has_receipt());
  // And once the record is complete, each quiet repeat brings the receipt.
  for (const Blob* blob : {&first, &second}) {
    s = stream.Take(session, whole_slice(*blob, true));
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE(s->complete());
    EXPECT_TRUE(s->has_receipt());
    EXPECT_EQ(s->record_id(), IdOf(record));
  }
}

// Issue 13: a record with attachments needs no commitment before its body, and no
// QueryAttachments after it, when the body's answer fixes it and says nothing is held.
TEST_F(UploadPiecesTest, ABodyStoredNowIsAnsweredWithItsCommitmentReceiptAndNothingHeld) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(100'000, 'c');
  v1::Envelope record = Seal(monitor_, {blob.ref});
  v1::RecordResult first = Upload(session, {record})[0];
  ASSERT_TRUE(first.awaiting_attachments()) << first.message();
  EXPECT_TRUE(first.no_attachment_bytes_held());
  ASSERT_TRUE(first.has_commitment_receipt());
  EXPECT_FALSE(first.has_receipt());
  // The wire's context, spelled out: a device of any version checks it so.
  EXPECT_TRUE(crypto::VerifySignature(receipt_public_key_, "temoin/commitment-receipt/v1",
                                      first.commitment_receipt().body(),
                                      first.commitment_receipt().signature())
                  .ok());
  v1::ReceiptBody body;
  ASSERT_TRUE(body.ParseFromString(first.commitment_receipt().body()));
  EXPECT_EQ(body.record_id(), IdOf(record));
  EXPECT_EQ(body.digest(), crypto::RecordDigest(record));
  EXPECT_EQ(body.log_index(), 0u) << "a commitment receipt is in no log";
  // The commitment it stands for answers a later commitment with the same receipt.
  v1::RecordResult committed = Commit(session, {crypto::MakeCommitment(record)})[0];
  EXPECT_EQ(committed.commitment_receipt().SerializeAsString(),
            first.commitment_receipt().SerializeAsString());
  EXPECT_TRUE(committed.awaiting_attachments());
  // Sent again, once the server holds a piece: not stored now, so the device must ask.
  ASSERT_TRUE(Piece(session, record, blob, 0, 0, kPiece).ok());
  v1::RecordResult again = Upload(session, {record})[0];
  EXPECT_TRUE(again.awaiting_attachments());
  EXPECT_FALSE(again.no_attachment_bytes_held()) << "the server holds a piece of it";
  EXPECT_EQ(again.commitment_receipt().SerializeAsString(),
            first.commitment_receipt().SerializeAsString())
      << "a body sent again is fixed by the same commitment receipt";
  EXPECT_EQ(Query(session, blob).next_offset(), kPiece);
}

TEST_F(UploadPiecesTest, ABodyAfterItsCommitmentIsAnsweredWithThatCommitmentsReceipt) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(1'000, 'd');
  v1::Envelope record = Seal(monitor_, {blob.ref});
  v1::RecordResult committed = Commit(session, {crypto::MakeCommitment(record)})[0];
  ASSERT_TRUE(committed.has_commitment_receipt()) << committed.message();
  v1::RecordResult body = Upload(session, {record})[0];
  ASSERT_TRUE(body.awaiting_attachments()) << body.message();
  EXPECT_TRUE(body.no_attachment_bytes_held());
  EXPECT_EQ(body.commitment_receipt().SerializeAsString(),
            committed.commitment_receipt().SerializeAsString());
}

// Commitments in batch form meet bodies kept awaiting their attachments: a body that
// made its commitment row is answered with that row's receipt; one kept before bodies
// made rows (an older server's) gets a single commitment receipt and a result of its
// own, so the device knows the body is in. Either way the row keeps the device's word.
TEST_F(UploadPiecesTest, ACommitmentBatchNamingBodiesAwaitingAttachments) {
  Session session = SignIn(monitor_);
  Blob blob_a = MakeBlob(1'000, 'e'), blob_b = MakeBlob(1'000, 'f');
  v1::Envelope with_row = Seal(monitor_, {blob_a.ref});
  v1::Envelope legacy = Seal(monitor_, {blob_b.ref});
  v1::RecordResult kept = Upload(session, {with_row})[0];
  ASSERT_TRUE(kept.has_commitment_receipt()) << kept.message();
  ASSERT_TRUE(Upload(session, {legacy})[0].awaiting_attachments());
  WriteBatch forget;  // as an older server kept it: a pending body without a cmt/ row
  forget.Delete(keys::Commitment(monitor_.id, IdOf(legacy)));
  ASSERT_TRUE(store_.Commit(forget).ok());

  v1::CommitmentBatch batch;
  std::vector<v1::CommitmentLeaf> leaves;
  for (const v1::Envelope* record : {&with_row, &legacy}) {
    v1::CommitmentLeaf& leaf = leaves.emplace_back();
    leaf.set_record_id(IdOf(*record));
    leaf.set_digest(crypto::RecordDigest(*record));
    *batch.add_leaves() = leaf;
  }
  batch.set_signature(crypto::SignCommitmentBatch(leaves, monitor_.signing));
  CommittedLeaves committed = Must(core_->ingest().CommitLeaves(session, batch), "commit");
  EXPECT_TRUE(committed.fresh.empty());
  const v1::UploadResponse response = CompactCommitmentResponse(1, committed);
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_FALSE(response.has_commitment_batch_receipt());
  EXPECT_EQ(response.results(0).commitment_receipt().SerializeAsString(),
            kept.commitment_receipt().SerializeAsString());
  const v1::RecordResult& answer = response.results(1);
  EXPECT_EQ(answer.position(), 1u);
  EXPECT_TRUE(answer.awaiting_attachments());
  EXPECT_TRUE(crypto::VerifyReceipt(answer.commitment_receipt(), receipt_public_key_, IdOf(legacy),
                                    crypto::RecordDigest(legacy), crypto::ReceiptKind::kCommitment)
                  .ok());
  auto row = Must(store_.Get(keys::Commitment(monitor_.id, IdOf(legacy))), "row");
  ASSERT_TRUE(row.has_value());
  v1::StoredCommitment stored;
  ASSERT_TRUE(stored.ParseFromString(*row));
  EXPECT_TRUE(crypto::VerifyCommitmentProof(stored.proof(), monitor_.signing.public_key()).ok());
}

// Issue 13: the stream's closing message brings the log proofs of its receipts, so a
// sync that ends with attachments makes no GetLogProofs call.
TEST_F(UploadPiecesTest, AStreamsClosingProvesTheReceiptsItAnsweredInTheLog) {
  core_->set_log_key(crypto::SigningKey::Generate());
  Session session = SignIn(monitor_);
  v1::Envelope plain = Seal(monitor_);
  v1::RecordResult plain_result = Upload(session, {plain})[0];
  ASSERT_TRUE(plain_result.has_receipt()) << plain_result.message();
  v1::ReceiptBody plain_body;
  ASSERT_TRUE(plain_body.ParseFromString(plain_result.receipt().body()));
  Blob blob = MakeBlob(100'000, 'p');  // two slices
  v1::Envelope record = Seal(monitor_, {blob.ref});
  ASSERT_TRUE(Upload(session, {record})[0].awaiting_attachments());
  PieceStream stream(*core_);
  v1::BlobStatus last;
  for (uint64_t index = 0; index < blob.slices.size(); ++index) {
    v1::AttachmentChunk chunk;
    chunk.set_record_id(IdOf(record));
    chunk.set_blob_id(blob.ref.blob_id());
    chunk.set_index(index);
    chunk.set_data(blob.slices[index]);
    absl::StatusOr<v1::BlobStatus> s = stream.Take(session, chunk);
    ASSERT_TRUE(s.ok()) << s.status();
    last = *s;
  }
  ASSERT_TRUE(last.has_receipt());
  v1::ReceiptBody receipt;
  ASSERT_TRUE(receipt.ParseFromString(last.receipt().body()));
  ASSERT_TRUE(Upload(session, {Seal(monitor_)})[0].has_receipt());  // a leaf not asked for

  for (int field = 0; field < 3; ++field) {  // a closing that carries a piece
    v1::AttachmentChunk hostile;
    *hostile.mutable_log() = v1::GetLogProofsRequest();
    if (field == 0) hostile.set_data("x");
    if (field == 1) hostile.set_index(1);
    if (field == 2) hostile.set_quiet(true);
    PieceStream other(*core_);
    EXPECT_EQ(other.Take(session, hostile).status().code(), absl::StatusCode::kInvalidArgument)
        << field;
  }
  {
    // One index more than an answer holds: no proofs (and no sorting of millions),
    // not an error: the device asks with GetLogProofs.
    v1::AttachmentChunk oversized;
    for (uint64_t i = 1; i <= 1025; ++i) oversized.mutable_log()->add_log_indexes(i);
    PieceStream other(*core_);
    absl::StatusOr<v1::BlobStatus> answer = other.Take(session, oversized);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_FALSE(answer->has_log());
  }
  {
    // Proofs the server cannot give (an index past the log's end): no proofs either,
    // and the stream's pieces and receipts stand.
    v1::AttachmentChunk beyond;
    beyond.mutable_log()->add_log_indexes(1'000'000);
    PieceStream other(*core_);
    absl::StatusOr<v1::BlobStatus> answer = other.Take(session, beyond);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_FALSE(answer->has_log());
  }

  // It names the earlier record's index; the stream adds the receipt it answered.
  v1::AttachmentChunk closing;
  closing.mutable_log()->add_log_indexes(plain_body.log_index());
  absl::StatusOr<v1::BlobStatus> closed = stream.Take(session, closing);
  ASSERT_TRUE(closed.ok()) << closed.status();
  ASSERT_TRUE(closed->has_log());
  v1::GetLogProofsRequest direct;
  direct.add_log_indexes(plain_body.log_index());
  direct.add_log_indexes(receipt.log_index());
  direct.set_joint(true);
  v1::GetLogProofsResponse expected = Must(core_->GetLogProofs(session, direct), "proofs");
  ASSERT_GT(expected.joint_inclusion_size(), 0);
  EXPECT_EQ(closed->log().SerializeAsString(), expected.SerializeAsString())
      << "the closing proved other indexes than the two asked and answered";

  // Nothing after the closing, and no second one.
  EXPECT_EQ(stream.Take(session, closing).status().code(), absl::StatusCode::kInvalidArgument);
  v1::AttachmentChunk piece;
  piece.set_record_id(IdOf(record));
  piece.set_blob_id(blob.ref.blob_id());
  piece.set_data(blob.slices[0]);
  EXPECT_EQ(stream.Take(session, piece).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(UploadPiecesTest, ARestartMidSliceResumesAtTheHeldOffset) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(100'000, 'r');  // two slices
  v1::Envelope record = Seal(monitor_, {blob.ref});
  Upload(session, {record});
  ASSERT_TRUE(Slice(session, record, blob, 0).ok());  // a client before pieces
  ASSERT_TRUE(Piece(session, record, blob, 1, 0, kPiece).ok());
  ASSERT_TRUE(Piece(session, record, blob, 1, kPiece, kPiece).ok());
  // A server restart: a new core on the same store.
  core_ = std::make_unique<Core>(&store_, &clock_, crypto::SigningKey::Generate(),
                                 Must(DefaultVocabulary(), "vocabulary"));
  session = SignIn(monitor_);
  v1::BlobStatus where = Query(session, blob);
  EXPECT_EQ(where.next_index(), 1u);
  EXPECT_EQ(where.next_offset(), 2 * kPiece) << "the pieces held were lost in the restart";
  absl::StatusOr<v1::BlobStatus> s = Pieces(session, record, blob, 1, where.next_offset(), kPiece);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->complete());
  EXPECT_TRUE(s->has_receipt());
  EXPECT_EQ(PartialBytes(), 0u);
}

TEST_F(UploadPiecesTest, HostilePiecesAreRefusedAndStoreNothing) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(150'000, 'h');  // three slices
  v1::Envelope record = Seal(monitor_, {blob.ref});
  Upload(session, {record});
  ASSERT_TRUE(Piece(session, record, blob, 0, 0, kPiece).ok());
  ASSERT_TRUE(Piece(session, record, blob, 0, kPiece, kPiece).ok());
  const std::string pieces = keys::PiecePrefix(monitor_.id, blob.ref.blob_id());
  auto unchanged = [&](const char* what) {
    v1::BlobStatus where = Query(session, blob);
    EXPECT_EQ(where.next_index(), 0u) << what;
    EXPECT_EQ(where.next_offset(), 2 * kPiece) << what;
    EXPECT_EQ(Rows(pieces), 2) << what;
    EXPECT_EQ(PartialBytes(), 2 * kPiece) << what;
  };

  // A gap, and a piece of a later slice: out of order.
  absl::StatusOr<v1::BlobStatus> s = Piece(session, record, blob, 0, 3 * kPiece, kPiece);
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "out of order")) << s.status();
  s = Piece(session, record, blob, 1, 0, kPiece);
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition) << s.status();
  unchanged("after out-of-order pieces");

  // The same piece again (its ack was lost in a cut): OK, nothing new.
  s = Piece(session, record, blob, 0, kPiece, kPiece);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->next_offset(), 2 * kPiece);
  unchanged("after a repeated piece");
  // The same offset with other bytes: refused.
  std::string changed = blob.slices[0].substr(kPiece, kPiece);
  changed[7] ^= 1;
  s = Piece(session, record, blob, 0, kPiece, kPiece, changed);
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "differs")) << s.status();
  // Other bytes over the held ones, in a piece that also brings new bytes: refused.
  changed = blob.slices[0].substr(0, 3 * kPiece);
  changed[kPiece + 1] ^= 1;
  s = Piece(session, record, blob, 0, 0, 3 * kPiece, changed);
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition) << s.status();
  unchanged("after pieces that differ");

  // Past the slice's end, past the declared size, and empty: invalid.
  s = Piece(session, record, blob, 0, 2 * kPiece, 0, blob.slices[0].substr(2 * kPiece) + "overrun");
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status();
  s = Piece(session, record, blob, 0, 2 * kPiece, 0, std::string());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status();
  unchanged("after invalid pieces");
  ASSERT_TRUE(Pieces(session, record, blob, 0, 2 * kPiece, kPiece).ok());
  ASSERT_TRUE(Slice(session, record, blob, 1).ok());
  s = Piece(session, record, blob, 2, 0, 0, blob.slices[2] + "x");
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "declared size")) << s.status();
  EXPECT_EQ(Rows(pieces), 0);
  EXPECT_EQ(Query(session, blob).next_offset(), 0u);

  // A repeated piece of a slice already whole: OK when identical, refused otherwise.
  s = Piece(session, record, blob, 0, kPiece, kPiece);
  EXPECT_TRUE(s.ok()) << s.status();
  s = Piece(session, record, blob, 0, kUploadChunkBytes - 10, 0, std::string(20, 'z'));
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition) << s.status();

  // A client before pieces resends the whole slice over held pieces: the new part is
  // taken.
  ASSERT_TRUE(Piece(session, record, blob, 2, 0, 1000).ok());
  s = Slice(session, record, blob, 2);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->complete());
  EXPECT_EQ(PartialBytes(), 0u);
}

TEST_F(UploadPiecesTest, PiecesCountAgainstThePartialUploadBudget) {
  IngestLimits limits;
  limits.max_partial_bytes = 2 * kPiece + 100;
  core_ = std::make_unique<Core>(&store_, &clock_, crypto::SigningKey::Generate(),
                                 Must(DefaultVocabulary(), "vocabulary"), limits);
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(100'000, 'u');  // two slices
  v1::Envelope record = Seal(monitor_, {blob.ref});
  Upload(session, {record});
  ASSERT_TRUE(Piece(session, record, blob, 0, 0, kPiece).ok());
  ASSERT_TRUE(Piece(session, record, blob, 0, kPiece, kPiece).ok());
  absl::StatusOr<v1::BlobStatus> s = Piece(session, record, blob, 0, 2 * kPiece, kPiece);
  EXPECT_EQ(s.status().code(), StatusCode::kResourceExhausted) << s.status();
  EXPECT_EQ(Query(session, blob).next_offset(), 2 * kPiece) << "a refused piece was kept";
  EXPECT_EQ(Rows(keys::PiecePrefix(monitor_.id, blob.ref.blob_id())), 2);
  EXPECT_EQ(PartialBytes(), 2 * kPiece);
  // A repeat of a held piece costs nothing and is still answered.
  EXPECT_TRUE(Piece(session, record, blob, 0, kPiece, kPiece).ok());
}

uint64_t DevicePartialBytes(Store& store, const std::string& device_id) {
  auto value = Must(store.Get(keys::DevicePartialBytes(device_id)), "device partial bytes");
  return value.has_value() ? DecodeU64BigEndian(*value) : 0;
}

TEST_F(UploadPiecesTest, StalePartialUploadsExpireAndTheBudgetComesBack) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(100'000, 's');  // two slices
  v1::Envelope record = Seal(monitor_, {blob.ref});
  Upload(session, {record});
  ASSERT_TRUE(Slice(session, record, blob, 0).ok());
  ASSERT_TRUE(Piece(session, record, blob, 1, 0, 1000).ok());
  const uint64_t held = kUploadChunkBytes + 1000;
  EXPECT_EQ(PartialBytes(), held);
  EXPECT_EQ(DevicePartialBytes(store_, monitor_.id), held);
  const int64_t ttl = core_->ingest().limits().partial_upload_ttl_seconds;
  EXPECT_EQ(ttl, 7 * 24 * 3600);

  clock_.Advance(ttl - 60);  // not yet stale
  EXPECT_EQ(Must(core_->attachments().ExpireStalePartials(clock_.NowSeconds()), "expire"), 0u);
  EXPECT_EQ(PartialBytes(), held);
  clock_.Advance(120);
  EXPECT_EQ(Must(core_->attachments().ExpireStalePartials(clock_.NowSeconds()), "expire"), held);
  EXPECT_EQ(PartialBytes(), 0u);
  EXPECT_EQ(DevicePartialBytes(store_, monitor_.id), 0u);
  EXPECT_EQ(Rows(keys::PiecePrefix(monitor_.id, blob.ref.blob_id())), 0);
  EXPECT_EQ(Rows(keys::ChunkPrefix(monitor_.id, blob.ref.blob_id())), 0);
  EXPECT_EQ(Rows(keys::PartialBlobPrefix()), 0);
  v1::BlobStatus status = Query(session, blob);
  EXPECT_EQ(status.code(), 0) << "an expired blob must stay expected";
  EXPECT_EQ(status.next_index(), 0u);
  EXPECT_EQ(status.next_offset(), 0u);

  // Expiry also runs by itself on the first piece after start: a fresh core (a restart)
  // drops a stale partial upload of another blob before taking the new piece.
  Blob stale = MakeBlob(100'000, 't');
  v1::Envelope stale_record = Seal(monitor_, {stale.ref});
  Upload(session, {stale_record});
  ASSERT_TRUE(Piece(session, stale_record, stale, 0, 0, 1000).ok());
  clock_.Advance(ttl + 1);
  core_ = std::make_unique<Core>(&store_, &clock_, crypto::SigningKey::Generate(),
                                 Must(DefaultVocabulary(), "vocabulary"));
  session = SignIn(monitor_);
  ASSERT_TRUE(Piece(session, record, blob, 0, 0, 500).ok());
  EXPECT_EQ(Query(session, stale).next_offset(), 0u) << "the stale upload was not expired";
  EXPECT_EQ(PartialBytes(), 500u);

  // The device comes back: it uploads the blob again from zero and gets its receipt.
  ASSERT_TRUE(Slice(session, record, blob, 0).ok());
  absl::StatusOr<v1::BlobStatus> done = Slice(session, record, blob, 1);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(done->has_receipt());
  EXPECT_EQ(PartialBytes(), 0u);
}

TEST_F(UploadPiecesTest, OneDeviceCannotExhaustAnothersBudget) {
  IngestLimits limits;
  limits.max_partial_bytes_per_device = 2 * kPiece + 100;
  limits.max_partial_bytes = 5 * kPiece;
  core_ = std::make_unique<Core>(&store_, &clock_, crypto::SigningKey::Generate(),
                                 Must(DefaultVocabulary(), "vocabulary"), limits);
  Session greedy = SignIn(monitor_);
  Session modest = SignIn(other_);
  std::vector<std::pair<Blob, v1::Envelope>> hoard;
  for (int i = 0; i < 3; ++i) {
    Blob blob = MakeBlob(100'000, static_cast<char>('g' + i));
    v1::Envelope record = Seal(monitor_, {blob.ref});
    Upload(greedy, {record});
    hoard.emplace_back(std::move(blob), std::move(record));
  }
  // One piece short of done, blob after blob: the device's budget stops it.
  ASSERT_TRUE(Piece(greedy, hoard[0].second, hoard[0].first, 0, 0, kPiece).ok());
  ASSERT_TRUE(Piece(greedy, hoard[1].second, hoard[1].first, 0, 0, kPiece).ok());
  absl::StatusOr<v1::BlobStatus> s = Piece(greedy, hoard[2].second, hoard[2].first, 0, 0, kPiece);
  EXPECT_EQ(s.status().code(), StatusCode::kResourceExhausted) << s.status();
  EXPECT_NE(s.status().message().find("this device"), std::string::npos) << s.status();
  EXPECT_EQ(DevicePartialBytes(store_, monitor_.id), 2 * kPiece);

  // The other device still has its whole budget.
  Blob mine = MakeBlob(100'000, 'm');
  v1::Envelope record = Seal(other_, {mine.ref});
  Upload(modest, {record});
  EXPECT_TRUE(Piece(modest, record, mine, 0, 0, kPiece).ok());
  EXPECT_TRUE(Piece(modest, record, mine, 0, kPiece, kPiece).ok());
  EXPECT_EQ(DevicePartialBytes(store_, other_.id), 2 * kPiece);
  EXPECT_EQ(PartialBytes(), 4 * kPiece);
}

// Two front-ends of one store (as with PostgreSQL) taking pieces of one blob at the same
// moment, as when a device moved to the other front-end while the first still read its
// stream. Each piece is one read-modify-write under the store's lock, so every byte is
// held and counted once; per-process locking let both count the same bytes, or promote
// a slice while the other wrote a piece row of it.
TEST_F(UploadPiecesTest, TwoFrontEndsTakingPiecesOfOneBlobAtOnceCountEachByteOnce) {
  Core second(&store_, &clock_, crypto::SigningKey::Generate(),
              Must(DefaultVocabulary(), "vocabulary"));
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(150'000, 'c');  // three slices
  ASSERT_EQ(blob.slices.size(), 3u);
  v1::Envelope record = Seal(monitor_, {blob.ref});
  ASSERT_TRUE(Upload(session, {record})[0].awaiting_attachments());
  constexpr uint64_t kSmall = 400;
  const uint64_t last_size = blob.slices[2].size();
  // Every piece but the blob's last, in order, through one front-end.
  auto send = [&](Attachments& front_end, std::vector<absl::Status>& failures) {
    for (uint64_t index = 0; index < 3; ++index) {
      const uint64_t until = index < 2 ? blob.slices[index].size() : last_size - kSmall;
      for (uint64_t at = 0; at < until; at += kSmall) {
        v1::AttachmentChunk chunk;
        chunk.set_record_id(IdOf(record));
        chunk.set_blob_id(blob.ref.blob_id());
        chunk.set_index(index);
        chunk.set_offset(static_cast<uint32_t>(at));
        chunk.set_data(blob.slices[index].substr(at, std::min(kSmall, until - at)));
        absl::StatusOr<v1::BlobStatus> answer = front_end.UploadChunk(session, chunk);
        if (!answer.ok()) failures.push_back(answer.status());
      }
    }
  };
  std::vector<absl::Status> failures_a, failures_b;
  std::thread a([&] { send(core_->attachments(), failures_a); });
  std::thread b([&] { send(second.attachments(), failures_b); });
  a.join();
  b.join();
  for (const auto* failures : {&failures_a, &failures_b}) {
    EXPECT_TRUE(failures->empty()) << failures->size() << " pieces refused, the first: "
                                   << (failures->empty() ? absl::OkStatus() : failures->front());
  }
  const uint64_t held = 2 * kUploadChunkBytes + last_size - kSmall;
  const v1::BlobStatus status = Query(session, blob);
  EXPECT_EQ(status.next_index(), 2u);
  EXPECT_EQ(status.next_offset(), last_size - kSmall);
  EXPECT_EQ(PartialBytes(), held) << "bytes counted twice (or lost) by the two front-ends";
  EXPECT_EQ(DevicePartialBytes(store_, monitor_.id), held);
  uint64_t piece_bytes = 0;
  ASSERT_TRUE(store_
                  .Scan(keys::PiecePrefix(monitor_.id, blob.ref.blob_id()), "",
                        [&](absl::string_view, absl::string_view value) {
                          piece_bytes += value.size();
                          return true;
                        })
                  .ok());
  EXPECT_EQ(piece_bytes, last_size - kSmall) << "piece rows left beside a promoted slice";

  absl::StatusOr<v1::BlobStatus> done = Piece(session, record, blob, 2, last_size - kSmall, kSmall);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(done->complete());
  EXPECT_TRUE(done->has_receipt());
  EXPECT_EQ(PartialBytes(), 0u);
  EXPECT_EQ(DevicePartialBytes(store_, monitor_.id), 0u);
}

TEST_F(UploadPiecesTest, RevokingADeviceReleasesItsPartialUploads) {
  Session session = SignIn(monitor_);
  Session other_session = SignIn(other_);
  Blob blob = MakeBlob(100'000, 'r');
  v1::Envelope record = Seal(monitor_, {blob.ref});
  Upload(session, {record});
  ASSERT_TRUE(Slice(session, record, blob, 0).ok());
  Blob kept = MakeBlob(100'000, 'k');
  v1::Envelope other_record = Seal(other_, {kept.ref});
  Upload(other_session, {other_record});
  ASSERT_TRUE(Piece(other_session, other_record, kept, 0, 0, kPiece).ok());
  EXPECT_EQ(PartialBytes(), kUploadChunkBytes + kPiece);

  v1::WipeOrderBody body;
  body.set_device_id(monitor_.id);
  body.set_issued_at(clock_.NowSeconds());
  v1::RevokeDeviceRequest revoke;
  revoke.set_device_id(monitor_.id);
  revoke.mutable_wipe_order()->set_body(body.SerializeAsString());
  revoke.mutable_wipe_order()->set_org_signature(
      admin_.org->Sign(kWipeOrderContext, revoke.wipe_order().body()));
  Must(core_->admin().RevokeDevice(SignIn(admin_), revoke), "revoke");

  EXPECT_EQ(PartialBytes(), kPiece) << "the revoked device's bytes are still held";
  EXPECT_EQ(DevicePartialBytes(store_, monitor_.id), 0u);
  EXPECT_EQ(Rows(keys::ChunkPrefix(monitor_.id, blob.ref.blob_id())), 0);
  EXPECT_EQ(DevicePartialBytes(store_, other_.id), kPiece) << "another device lost its upload";
  EXPECT_EQ(Query(other_session, kept).next_offset(), kPiece);
}

TEST_F(UploadPiecesTest, WrongFinalHashRestartsTheBlobAndGivesNoReceipt) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(100'000, 'c');
  blob.ref.set_ciphertext_hash(Blake2b256("not the stream"));  // the device signed this
  v1::Envelope record = Seal(monitor_, {blob.ref});
  Upload(session, {record});
  ASSERT_TRUE(Slice(session, record, blob, 0).ok());
  absl::StatusOr<v1::BlobStatus> s = Slice(session, record, blob, 1);
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss) << s.status();
  v1::BlobStatus status = Query(session, blob);
  EXPECT_EQ(status.next_index(), 0u) << "a blob that fails its hash must restart from zero";
  EXPECT_EQ(Rows(keys::ChunkPrefix(monitor_.id, blob.ref.blob_id())), 0);
  EXPECT_EQ(PartialBytes(), 0u);
  // The same in pieces: the last piece fails the hash and nothing is left.
  ASSERT_TRUE(Slice(session, record, blob, 0).ok());
  ASSERT_TRUE(Piece(session, record, blob, 1, 0, 1000).ok());
  s = Piece(session, record, blob, 1, 1000, blob.slices[1].size() - 1000);
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss) << s.status();
  status = Query(session, blob);
  EXPECT_EQ(status.next_index(), 0u);
  EXPECT_EQ(status.next_offset(), 0u);
  EXPECT_EQ(Rows(keys::PiecePrefix(monitor_.id, blob.ref.blob_id())), 0);
  EXPECT_EQ(Rows(keys::ChunkPrefix(monitor_.id, blob.ref.blob_id())), 0);
  EXPECT_EQ(PartialBytes(), 0u);
  EXPECT_FALSE(status.complete());
  EXPECT_FALSE(status.has_receipt());
  EXPECT_FALSE(Stored(IdOf(record)));
}

TEST_F(UploadPiecesTest, ResumePointSurvivesARestartAndReceiptWaitsForEveryAttachment) {
  Session session = SignIn(monitor_);
  Blob first = MakeBlob(150'000, 'd');
  Blob second = MakeBlob(70'000, 'e');
  v1::Envelope record = Seal(monitor_, {first.ref, second.ref});
  std::vector<v1::RecordResult> results = Upload(session, {record});
  ASSERT_EQ(results[0].code(), 0) << results[0].message();
  EXPECT_TRUE(results[0].awaiting_attachments());
  EXPECT_FALSE(results[0].has_receipt()) << "a full receipt before the attachments arrived";

  ASSERT_TRUE(Slice(session, record, first, 0).ok());
  ASSERT_TRUE(Slice(session, record, first, 1).ok());
  // A server restart: a new core on the same store.
  core_ = std::make_unique<Core>(&store_, &clock_, crypto::SigningKey::Generate(),
                                 Must(DefaultVocabulary(), "vocabulary"));
  session = SignIn(monitor_);
  EXPECT_EQ(Query(session, first).next_index(), 2u) << "the resume point was lost";
  absl::StatusOr<v1::BlobStatus> s = Slice(session, record, first, 2);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->complete());
  EXPECT_FALSE(s->has_receipt()) << "a receipt while the second attachment is missing";
  EXPECT_FALSE(Stored(IdOf(record)));
  EXPECT_TRUE(Upload(session, {record})[0].awaiting_attachments());

  ASSERT_TRUE(Slice(session, record, second, 0).ok());
  s = Slice(session, record, second, 1);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->has_receipt());
  EXPECT_TRUE(Stored(IdOf(record)));
  results = Upload(session, {record});  // a retry: the same receipt, nothing new
  ASSERT_TRUE(results[0].has_receipt());
  EXPECT_EQ(results[0].receipt().SerializeAsString(), s->receipt().SerializeAsString());
}

// Two records of one batch naming one blob id: the second would overwrite the first's
// blob row, and the first would be receipted without its own hash ever being checked.
TEST_F(UploadPiecesTest, BlobIdClaimedTwiceIsRefusedForTheLaterRecordAndNeverHijacked) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(1000, 'a');
  Blob rival = MakeBlob(2000, 'b');
  rival.ref.set_blob_id(blob.ref.blob_id());
  v1::Envelope first = Seal(monitor_, {blob.ref});
  v1::Envelope second = Seal(monitor_, {rival.ref});
  std::vector<v1::RecordResult> results = Upload(session, {first, second});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].awaiting_attachments()) << results[0].message();
  EXPECT_EQ(results[1].code(), static_cast<int>(StatusCode::kInvalidArgument));
  EXPECT_NE(results[1].message().find(ToHex(blob.ref.blob_id())), std::string::npos)
      << results[1].message();

  // The first record's blob is its own: the rival's bytes fail its hash; its own pass.
  EXPECT_EQ(Slice(session, first, rival, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Slice(session, second, blob, 0).status().code(), StatusCode::kNotFound);
  absl::StatusOr<v1::BlobStatus> done = Slice(session, first, blob, 0);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(done->has_receipt());
  EXPECT_FALSE(Stored(IdOf(second)));

  // Later, alone, or with the id twice in its own header: still refused.
  results = Upload(session, {second});
  EXPECT_EQ(results[0].code(), static_cast<int>(StatusCode::kInvalidArgument));
  Blob twin = MakeBlob(500, 'c');
  results = Upload(session, {Seal(monitor_, {twin.ref, twin.ref})});
  EXPECT_EQ(results[0].code(), static_cast<int>(StatusCode::kInvalidArgument))
      << results[0].message();
  EXPECT_EQ(Query(session, twin).code(), static_cast<int>(StatusCode::kNotFound));
}

TEST_F(UploadPiecesTest, HostileCommitmentsAreRefusedAndConflictsKeptAsEvidence) {
  Session session = SignIn(monitor_);
  v1::Commitment forged = crypto::MakeCommitment(Seal(monitor_));
  forged.set_signature(std::string(forged.signature().size(), '\0'));
  v1::Commitment foreign = crypto::MakeCommitment(Seal(other_));  // other_'s, sent by monitor_
  std::vector<v1::RecordResult> results = Commit(session, {forged, foreign});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].code(), static_cast<int>(StatusCode::kUnauthenticated));
  // Checked against the signed-in device's key: another device's commitment fails its
  // signature before its device id is even looked at.
  EXPECT_TRUE(results[1].code() == static_cast<int>(StatusCode::kUnauthenticated) ||
              results[1].code() == static_cast<int>(StatusCode::kPermissionDenied))
      << results[1].code() << " " << results[1].message();
  EXPECT_FALSE(results[0].has_commitment_receipt() || results[1].has_commitment_receipt());

  // A body that does not match its commitment: refused, kept as evidence, not stored.
  v1::Envelope committed = Seal(monitor_);
  results = Commit(session, {crypto::MakeCommitment(committed)});
  ASSERT_EQ(results[0].code(), 0) << results[0].message();
  EXPECT_TRUE(results[0].has_commitment_receipt());
  v1::Envelope swapped = Seal(monitor_, {}, IdOf(committed));
  results = Upload(session, {swapped});
  EXPECT_EQ(results[0].code(), static_cast<int>(StatusCode::kFailedPrecondition))
      << results[0].message();
  EXPECT_FALSE(Stored(IdOf(committed)));
  auto evidence =
      store_.Get(keys::Conflict(monitor_.id, IdOf(committed), crypto::RecordDigest(swapped)));
  ASSERT_TRUE(evidence.ok());
  EXPECT_TRUE(evidence->has_value()) << "the conflicting body was not kept as evidence";
  // The committed body itself still goes in.
  results = Upload(session, {committed});
  EXPECT_TRUE(results[0].has_receipt()) << results[0].message();
}

// A body with attachments that its commitment did not fix is refused before it holds
// anything: no pending row, no claim on its blob ids, so the rightful body still goes in.
TEST_F(UploadPiecesTest, ABodyWithAttachmentsThatDiffersFromItsCommitmentClaimsNothing) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(1'000, 'e');
  Blob other = MakeBlob(1'000, 'f');
  v1::Envelope committed = Seal(monitor_, {blob.ref});
  v1::RecordResult commitment = Commit(session, {crypto::MakeCommitment(committed)})[0];
  ASSERT_TRUE(commitment.has_commitment_receipt()) << commitment.message();

  v1::Envelope rival = Seal(monitor_, {other.ref}, IdOf(committed));
  v1::RecordResult refused = Upload(session, {rival})[0];
  EXPECT_EQ(refused.code(), static_cast<int>(StatusCode::kFailedPrecondition)) << refused.message();
  EXPECT_FALSE(refused.awaiting_attachments());
  EXPECT_FALSE(refused.has_commitment_receipt());
  EXPECT_FALSE(
      Must(store_.Get(keys::PendingRecord(monitor_.id, IdOf(committed))), "pending").has_value());
  EXPECT_FALSE(Must(store_.Get(keys::Blob(monitor_.id, other.ref.blob_id())), "blob").has_value());
  EXPECT_TRUE(
      Must(store_.Get(keys::Conflict(monitor_.id, IdOf(committed), crypto::RecordDigest(rival))),
           "evidence")
          .has_value());

  v1::RecordResult body = Upload(session, {committed})[0];
  ASSERT_TRUE(body.awaiting_attachments()) << body.message();
  EXPECT_EQ(body.commitment_receipt().SerializeAsString(),
            commitment.commitment_receipt().SerializeAsString());
}

// The same body with attachments twice in one batch: held once, and both answered as
// the first, commitment receipt included, so the device never has to ask about either.
TEST_F(UploadPiecesTest, ABodyWithAttachmentsTwiceInOneBatchIsHeldOnceAndAnsweredAlike) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(1'000, 'g');
  v1::Envelope record = Seal(monitor_, {blob.ref});
  std::vector<v1::RecordResult> results = Upload(session, {record, record});
  ASSERT_EQ(results.size(), 2u);
  for (const v1::RecordResult& result : results) {
    EXPECT_EQ(result.code(), 0) << result.message();
    EXPECT_TRUE(result.awaiting_attachments());
    EXPECT_TRUE(result.no_attachment_bytes_held());
    EXPECT_TRUE(result.has_commitment_receipt());
    EXPECT_FALSE(result.has_receipt());
  }
  EXPECT_EQ(results[0].SerializeAsString(), results[1].SerializeAsString());
  EXPECT_TRUE(
      Must(store_.Get(keys::PendingRecord(monitor_.id, IdOf(record))), "pending").has_value());
  EXPECT_FALSE(
      Must(store_.Get(keys::Conflict(monitor_.id, IdOf(record), crypto::RecordDigest(record))),
           "no conflict")
          .has_value());
}

TEST_F(UploadPiecesTest, HostileBundlesAreRefusedAndNothingIsStoredTwice) {
  const std::string server_key(core_->bundle_key()->public_key());
  std::vector<v1::Envelope> records = {Seal(monitor_), Seal(monitor_)};
  std::string file = BundleFile(monitor_, records, server_key);

  EXPECT_EQ(ImportBundle(*core_, "garbage").status().code(), StatusCode::kInvalidArgument);
  absl::StatusOr<BundleImportReport> r = ImportBundle(*core_, file.substr(0, file.size() / 2));
  EXPECT_FALSE(r.ok());
  crypto::BoxKeyPair elsewhere = crypto::BoxKeyPair::Generate();
  r = ImportBundle(*core_, BundleFile(monitor_, records, std::string(elsewhere.public_key())));
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << r.status();
  for (const v1::Envelope& record : records) EXPECT_FALSE(Stored(IdOf(record)));

  // One record already came by network; importing twice stores each once.
  Session session = SignIn(monitor_);
  ASSERT_TRUE(Upload(session, {records[0]})[0].has_receipt());
  r = ImportBundle(*core_, file);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records, 1u);
  EXPECT_EQ(r->duplicates, 1u);
  r = ImportBundle(*core_, file);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records, 0u);
  EXPECT_EQ(r->duplicates, 2u);
  uint64_t log_entries = 0;
  ASSERT_TRUE(store_
                  .Scan("log/", "",
                        [&](absl::string_view, absl::string_view) {
                          ++log_entries;
                          return true;
                        })
                  .ok());
  EXPECT_EQ(log_entries, 2u) << "a record was stored twice";

  // Relayed by another device: the originating device gets its receipt at its next
  // contact, through its commitments.
  v1::Envelope relayed = Seal(monitor_);
  ASSERT_TRUE(ImportBundle(*core_, BundleFile(monitor_, {relayed}, server_key)).ok());
  std::vector<v1::RecordResult> results = Commit(session, {crypto::MakeCommitment(relayed)});
  EXPECT_TRUE(results[0].has_receipt()) << "the relayed record's receipt did not reach its device";

  // A bundle naming another device than the one that signed its records.
  v1::Envelope mine = Seal(monitor_);
  r = ImportBundle(*core_, BundleFile(other_, {mine}, server_key));
  if (r.ok()) {
    EXPECT_EQ(r->records, 0u);
  }
  EXPECT_FALSE(Stored(IdOf(mine)));
}

// Anyone with the server's bundle key can make a bundle naming any device: the named
// device pays only for its records that verify, and the carrier for what it carried.
TEST_F(UploadPiecesTest, ForgedBundlesCostTheNamedDeviceNothingAndTheCarrierItsBytes) {
  IngestLimits limits;
  limits.rates.bytes_per_day = 32 << 10;
  core_ = std::make_unique<Core>(&store_, &clock_, crypto::SigningKey::Generate(),
                                 Must(DefaultVocabulary(), "vocabulary"), limits);
  core_->set_bundle_key(crypto::BoxKeyPair::Generate());
  const std::string server_key(core_->bundle_key()->public_key());
  std::vector<v1::Envelope> forged;
  for (int i = 0; i < 20; ++i) forged.push_back(Seal(other_));  // signed by other_, not monitor_
  const std::string file = BundleFile(monitor_, forged, server_key);
  ASSERT_GT(file.size() * 8, limits.rates.bytes_per_day) << "the test would prove nothing";
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<BundleImportReport> r = ImportBundle(*core_, file);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->refused, forged.size());
  }
  Session session = SignIn(monitor_);
  std::vector<v1::RecordResult> results = Upload(session, {Seal(monitor_)});
  EXPECT_TRUE(results[0].has_receipt()) << "forged bundles used up the named device's quota";

  // Relayed by other_: each relay is spooled, and charged to the carrier as it comes.
  Session carrier = SignIn(other_);
  RelaySpool spool(core_.get(), RelayLimits{.spool_dir = ::testing::TempDir()});
  absl::Status refused = absl::OkStatus();
  for (int i = 0; i < 10 && refused.ok(); ++i) {
    absl::StatusOr<std::unique_ptr<RelayUpload>> relay = spool.Begin(carrier);
    ASSERT_TRUE(relay.ok()) << relay.status();
    refused = (*relay)->Append(file);
    if (refused.ok()) refused = (*relay)->Finish().status();
  }
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted) << "the carrier was never charged";
  EXPECT_EQ(spool.spooled_bytes(), 0u) << "a finished relay kept its spool budget";
  results = Upload(session, {Seal(monitor_)});
  EXPECT_TRUE(results[0].has_receipt()) << results[0].message();
}

// A bundle larger than one sealed chunk, with more records than one batch and an
// attachment of several pieces, is read as a stream: everything in it arrives.
TEST_F(UploadPiecesTest, LargeBundlesAreImportedPieceByPiece) {
  const std::string server_key(core_->bundle_key()->public_key());
  std::vector<v1::Envelope> records;
  for (int i = 0; i < 300; ++i) records.push_back(Seal(monitor_));
  Blob blob = MakeBlob(3 * crypto::kAttachmentChunkBytes + 100, 'b');
  records.push_back(Seal(monitor_, {blob.ref}));
  v1::Bundle bundle;
  bundle.set_device_id(monitor_.id);
  for (const v1::Envelope& record : records) *bundle.add_records() = record;
  v1::BundleBlob* carried = bundle.add_blobs();
  carried->set_record_id(IdOf(records.back()));
  carried->set_blob_id(blob.ref.blob_id());
  for (const std::string& slice : blob.slices) carried->add_chunks(slice);
  ASSERT_GT(bundle.ByteSizeLong(), 2 * crypto::kAttachmentChunkBytes) << "would prove nothing";
  const std::string file = SealBundle(bundle, server_key);

  // Cut or altered anywhere (here: in its last sealed chunk): nothing is stored.
  std::string altered = file;
  altered[altered.size() - 5] ^= 1;
  EXPECT_EQ(ImportBundle(*core_, altered).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(ImportBundle(*core_, file.substr(0, file.size() - 1)).status().code(),
            StatusCode::kInvalidArgument);
  for (const v1::Envelope& record : records) ASSERT_FALSE(Stored(IdOf(record)));

  absl::StatusOr<BundleImportReport> r = ImportBundle(*core_, file);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->refused, 0u) << (r->refusals.empty() ? "" : r->refusals[0]);
  EXPECT_EQ(r->records, records.size());
  for (const v1::Envelope& record : records) EXPECT_TRUE(Stored(IdOf(record)));
  Session session = SignIn(monitor_);
  std::vector<v1::RecordResult> results = Commit(session, {crypto::MakeCommitment(records.back())});
  EXPECT_TRUE(results[0].has_receipt()) << "the carried attachment did not complete its record";
}

// Protobuf writes fields in order; a bundle that names its device after its records is
// not one a device made.
TEST_F(UploadPiecesTest, BundleFieldsOutOfOrderAreRefused) {
  const std::string server_key(core_->bundle_key()->public_key());
  v1::Envelope record = Seal(monitor_);
  v1::Bundle records_only;
  *records_only.add_records() = record;
  v1::Bundle device_only;
  device_only.set_device_id(monitor_.id);
  // Concatenated protobuf messages merge: the same Bundle, in the wrong order.
  const std::string plaintext = records_only.SerializeAsString() + device_only.SerializeAsString();
  absl::StatusOr<BundleImportReport> r = ImportBundle(*core_, SealPlaintext(plaintext, server_key));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  EXPECT_FALSE(Stored(IdOf(record)));
}

TEST_F(UploadPiecesTest, RelaySpoolHoldsToItsCaps) {
  Session carrier = SignIn(other_);
  RelaySpool spool(core_.get(), RelayLimits{.spool_dir = ::testing::TempDir(),
                                            .max_bytes_per_relay = 1000,
                                            .max_spooled_bytes = 1500,
                                            .max_relays_per_carrier = 2});
  auto first = spool.Begin(carrier);
  auto second = spool.Begin(carrier);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(spool.Begin(carrier).status().code(), StatusCode::kResourceExhausted)
      << "a third relay in flight from one device";
  EXPECT_TRUE(spool.Begin(SignIn(monitor_)).ok()) << "another device was held back";

  EXPECT_TRUE((*first)->Append(std::string(900, 'x')).ok());
  EXPECT_EQ((*first)->Append(std::string(200, 'x')).code(), StatusCode::kResourceExhausted)
      << "a relay passed its size limit";
  EXPECT_EQ((*second)->Append(std::string(700, 'x')).code(), StatusCode::kResourceExhausted)
      << "the spool passed its limit";
  EXPECT_EQ(spool.spooled_bytes(), 900u);
  first->reset();  // the call ended: its bytes come back
  EXPECT_EQ(spool.spooled_bytes(), 0u);
  EXPECT_TRUE((*second)->Append(std::string(700, 'x')).ok());
  EXPECT_EQ((*second)->Finish().status().code(), StatusCode::kInvalidArgument)
      << "garbage was imported";
  EXPECT_TRUE(spool.Begin(carrier).ok()) << "an ended relay still counted against its carrier";
}

// Fuzzing finding 1 (docs/fuzzing.md, bundle_fuzz): a record whose attachments have
// not all arrived is pending, and importing the same bundle again counted it as a new
// record again (the report, and a relaying device's RelayResponse.records, said so
// though nothing new was stored). A pending record is "known" as a stored one is.
TEST_F(UploadPiecesTest, ReimportedPendingRecordIsADuplicateNotANewRecord) {
  core_->set_bundle_key(crypto::BoxKeyPair::Generate());
  Blob blob = MakeBlob(1000, 'g');
  const std::string file = BundleFile(monitor_, {Seal(monitor_, {blob.ref})},
                                      std::string(core_->bundle_key()->public_key()));
  absl::StatusOr<BundleImportReport> first = ImportBundle(*core_, file);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->records, 1u);
  absl::StatusOr<BundleImportReport> again = ImportBundle(*core_, file);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->records, 0u) << "nothing new was stored";
  EXPECT_EQ(again->duplicates, 1u);
}

TEST_F(UploadPiecesTest, RevokedDeviceStoresNothing) {
  Session session = SignIn(monitor_);
  Blob blob = MakeBlob(1000, 'f');
  v1::Envelope with_blob = Seal(monitor_, {blob.ref});
  ASSERT_TRUE(Upload(session, {with_blob})[0].awaiting_attachments());
  v1::Envelope late = Seal(monitor_);
  const std::string server_key(core_->bundle_key()->public_key());
  std::string file = BundleFile(monitor_, {late}, server_key);
  SetRevoked(monitor_.id);

  google::protobuf::RepeatedPtrField<v1::Envelope> field;
  *field.Add() = late;
  EXPECT_EQ(core_->ingest().UploadBatch(session, field).status().code(),
            StatusCode::kPermissionDenied);
  google::protobuf::RepeatedPtrField<v1::Commitment> commitments;
  *commitments.Add() = crypto::MakeCommitment(late);
  EXPECT_EQ(core_->ingest().CommitBatch(session, commitments).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Slice(session, with_blob, blob, 0).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ImportBundle(*core_, file).status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(Stored(IdOf(late)));
  EXPECT_FALSE(Stored(IdOf(with_blob)));
}

}  // namespace
}  // namespace temoin::server
