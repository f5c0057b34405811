#include "tests/fuzz/fuzz_world.h"

#include <sodium.h>

#include <cstdlib>

#include "common/vocabulary.h"
#include "crypto/attachment_stream.h"
#include "crypto/auth.h"
#include "crypto/envelope.h"
#include "crypto/project_keys.h"
#include "server/core/bundle_import.h"
#include "server/core/registry.h"
#include "temoin/v1/server_store.pb.h"
#include "temoin/v1/testimony.pb.h"

namespace temoin::fuzz {
namespace {

using server::testing::Must;

constexpr int64_t kStartTime = 1'780'000'000;
constexpr char kSignatureContext[] = "temoin/record/v1";  // crypto/envelope.cc

std::string Bytes(size_t n, uint8_t seed) { return std::string(n, static_cast<char>(seed)); }

std::string Blake2b256(absl::string_view data) {
  std::string hash(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(hash.data()), hash.size(),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr, 0);
  return hash;
}

const v1::Vocabulary& Vocabulary() {
  static const v1::Vocabulary* vocabulary =
      new v1::Vocabulary(Must(DefaultVocabulary(), "default vocabulary"));
  return *vocabulary;
}

v1::Testimony SyntheticTestimony(uint64_t n) {
  v1::Testimony t;
  t.set_narrative("Witness " + std::to_string(n) +
                  " (synthetic) reports that armed men burned a granary in Village X "
                  "(synthetic) on market day.");
  t.set_language("fr");
  t.mutable_incident()->set_date("2026-03-14");
  t.mutable_incident()->set_region("ML-6");
  v1::Act* act = t.add_acts();
  act->set_type("abduction");
  act->set_count(2);
  t.mutable_consent()->set_informed(true);
  return t;
}

server::Session SignIn(server::Core& core, const server::testing::FakeDevice& device) {
  std::string nonce = Must(core.sessions().IssueChallenge(device.id), "challenge");
  std::string token =
      Must(core.sessions().Authenticate(device.id, nonce, device.SignChallenge(nonce)), "auth");
  return Must(core.sessions().Verify(token), "verify");
}

}  // namespace

crypto::SigningKey FixedSigningKey(uint8_t seed) {
  std::string seed_bytes = Bytes(crypto_sign_SEEDBYTES, seed);
  std::string pk(crypto_sign_PUBLICKEYBYTES, '\0'), sk(crypto_sign_SECRETKEYBYTES, '\0');
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(pk.data()),
                           reinterpret_cast<unsigned char*>(sk.data()),
                           reinterpret_cast<const unsigned char*>(seed_bytes.data()));
  return Must(crypto::SigningKey::FromSecretKey(sk), "fixed signing key");
}

crypto::BoxKeyPair FixedBoxKey(uint8_t seed) {
  return Must(crypto::BoxKeyPair::FromSecretKey(Bytes(crypto::kBoxSecretKeyBytes, seed)),
              "fixed box key");
}

// The server never opens an attachment, it checks its size and hash: any fixed bytes
// stand for a sealed stream.
FixedBlob MakeFixedBlob(size_t stream_bytes, uint8_t seed) {
  FixedBlob blob;
  blob.ref.set_blob_id(Bytes(16, seed));
  blob.stream.resize(stream_bytes);
  for (size_t i = 0; i < stream_bytes; ++i)
    blob.stream[i] = static_cast<char>((i * 131 + seed) >> 3);
  blob.ref.set_size(blob.stream.size());
  blob.ref.set_ciphertext_hash(Blake2b256(blob.stream));
  for (size_t at = 0; at < blob.stream.size(); at += server::kUploadChunkBytes) {
    blob.slices.push_back(blob.stream.substr(at, server::kUploadChunkBytes));
  }
  return blob;
}

FuzzWorld::FuzzWorld() : clock_(kStartTime), epoch_key_(FixedBoxKey(6)) {}

std::unique_ptr<FuzzWorld> FuzzWorld::Create() {
  std::unique_ptr<FuzzWorld> world(new FuzzWorld());
  // What server/app/data_dir.cc writes at init.
  v1::ServerConfig config;
  config.set_org_name("Synthetic Rights Org");
  server::WriteBatch batch;
  batch.Put(server::keys::Config(), config.SerializeAsString());
  if (!world->store_.Commit(batch).ok()) std::abort();
  world->receipt_public_key_ = FixedSigningKey(1).public_key();
  world->core_ = std::make_unique<server::Core>(&world->store_, &world->clock_, FixedSigningKey(1),
                                                Vocabulary());
  world->core_->set_bundle_key(FixedBoxKey(2));
  server::Core& core = *world->core_;

  server::testing::FakeDevice& admin = world->admin_;
  admin.signing = FixedSigningKey(3);
  admin.box = FixedBoxKey(4);
  admin.org = FixedSigningKey(5);
  std::string boot =
      Must(core.enrollment().CreateInvite(v1::ROLE_ADMIN, "", 0, /*bootstrap=*/true), "boot")
          .token();
  admin.id = Must(core.enrollment().Enroll(admin.EnrollRequest(boot)), "enrol admin").device_id();
  server::Session admin_session = SignIn(core, admin);

  world->project_id_ = Bytes(crypto::kProjectIdBytes, 0x42);
  v1::ProjectKeyBody body;
  body.set_project_id(world->project_id_);
  body.set_project_name("alpha");
  body.set_epoch(1);
  body.set_public_key(world->epoch_key_.public_key());
  v1::CreateProjectRequest project;
  *project.mutable_key() = crypto::SignProjectKey(body, *admin.org);
  project.set_admin_wrapped_secret(Must(
      crypto::WrapEpochSecret(world->epoch_key_, world->project_id_, 1, admin.box.public_key()),
      "wrap"));
  Must(core.admin().CreateProject(admin_session, project), "create project");

  server::testing::FakeDevice& monitor = world->monitor_;
  monitor.signing = FixedSigningKey(7);
  monitor.box = FixedBoxKey(8);
  v1::CreateInviteRequest invite;
  invite.set_role(v1::ROLE_MONITOR);
  invite.set_project("alpha");
  std::string token = Must(core.admin().CreateInvite(admin_session, invite), "invite").token();
  monitor.id =
      Must(core.enrollment().Enroll(monitor.EnrollRequest(token)), "enrol monitor").device_id();
  world->monitor_session_ = SignIn(core, monitor);
  return world;
}

v1::Envelope FuzzWorld::Seal(uint64_t seq,
                             const std::vector<v1::AttachmentRef>& attachments) const {
  crypto::SealParams params;
  params.record_id = Bytes(crypto::kRecordIdBytes, static_cast<uint8_t>(seq));
  params.device_seq = seq;
  params.project_id = project_id_;
  params.device_id = monitor_.id;
  params.recipients = {{epoch_key_.public_key(), 1}};
  params.attachments = attachments;
  return Must(crypto::SealRecord(SyntheticTestimony(seq), params, monitor_.signing), "seal");
}

void FuzzWorld::Resign(v1::Envelope& envelope) const {
  envelope.set_signature(monitor_.signing.Sign(kSignatureContext, crypto::RecordDigest(envelope)));
}

std::string FuzzWorld::SealBundle(const std::string& bundle_plaintext) const {
  crypto::SecretBuffer key = crypto::SecretBuffer::CopyOf(Bytes(32, 0x33));
  v1::SealedBundle sealed;
  sealed.set_bundle_id(Bytes(16, 0x44));
  sealed.set_sealed_key(
      Must(crypto::SealToPublicKey(key.ExposeSecret(), bundle_key().public_key()), "seal key"));
  sealed.set_stream(
      Must(crypto::EncryptAttachment(key, sealed.bundle_id(), bundle_plaintext), "stream"));
  return std::string(server::kBundleMagic) + sealed.SerializeAsString();
}

}  // namespace temoin::fuzz
