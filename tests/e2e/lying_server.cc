// temoin-lying-server: a compromised server, for tests only (never installed). It holds
// the real server's TLS key and receipt key (read from its data directory, as an
// attacker who took the machine would), listens where devices were enrolled, forwards
// every call to the real server and tampers with the answers named in a lies file that
// it re-reads on every call (one word a line):
//   forge          lists and serves an invented testimony under a real monitor's id and
//                  certificate, signed by a key made here, with a valid server receipt
//   duplicate      lists and serves a real record a second time, under another id
//   device-seq     rewrites the first record's device_seq in the listing
//   extra-grantee  adds a reviewer device made here to every ListGrants answer
//   fake-device    adds that device (role reviewer, no certificate) to ListDevices
//   omit-projects  answers RevokeDevice with no ungranted project
//   backdate       serves the first record with its receipt re-signed a week earlier
//                  (a receipt the server can sign, a leaf its log does not hold)
//   other-device-id  answers Enroll with the id of a device made here, not the enrolling one
// Monitors upload to the real server directly (Upload is not forwarded).
//
//   temoin-lying-server --data DIR --listen HOST:PORT --backend HOST:PORT --lies FILE
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>

#include "absl/strings/str_split.h"
#include "client/sync/connection.h"
#include "crypto/auth.h"
#include "crypto/envelope.h"
#include "crypto/project_keys.h"
#include "crypto/receipt.h"
#include "crypto/sodium_init.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/server_credentials.h"
#include "server/app/data_dir.h"

namespace temoin::e2e {
namespace {

class Liar {
 public:
  Liar(std::string lies_path, server::ServerData data, std::unique_ptr<client::Connection> backend)
      : lies_path_(std::move(lies_path)), data_(std::move(data)), backend_(std::move(backend)) {
    forged_id_ = crypto::RandomBytes(crypto::kRecordIdBytes);
    duplicate_id_ = crypto::RandomBytes(crypto::kRecordIdBytes);
    fake_id_ = crypto::DeviceIdFromKeys(fake_sign_.public_key(), fake_box_.public_key());
  }

  bool Lies(const std::string& lie) const {
    std::ifstream in(lies_path_);
    std::string line;
    while (std::getline(in, line)) {
      if (line == lie) return true;
    }
    return false;
  }

  // A context for the real server carrying the caller's token.
  std::unique_ptr<grpc::ClientContext> Forward(grpc::ServerContext* in) {
    auto out = std::make_unique<grpc::ClientContext>();
    auto it = in->client_metadata().find("authorization");
    if (it != in->client_metadata().end()) {
      out->AddMetadata("authorization", std::string(it->second.data(), it->second.size()));
    }
    out->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return out;
  }

  client::Connection& backend() { return *backend_; }
  const server::ServerData& data() const { return data_; }
  const std::string& forged_id() const { return forged_id_; }
  const std::string& duplicate_id() const { return duplicate_id_; }
  const std::string& fake_id() const { return fake_id_; }
  const crypto::SigningKey& fake_sign() const { return fake_sign_; }
  const crypto::BoxKeyPair& fake_box() const { return fake_box_; }
  const crypto::SigningKey& forger() const { return forger_; }

  std::mutex mu;
  v1::RecordSummary first;  // the first real record listed (guarded by mu)
  bool have_first = false;

 private:
  std::string lies_path_;
  server::ServerData data_;
  std::unique_ptr<client::Connection> backend_;
  std::string forged_id_, duplicate_id_, fake_id_;
  crypto::SigningKey fake_sign_ = crypto::SigningKey::Generate();
  crypto::BoxKeyPair fake_box_ = crypto::BoxKeyPair::Generate();
  crypto::SigningKey forger_ = crypto::SigningKey::Generate();
};

class LyingEnrollment final : public v1::Enrollment::Service {
 public:
  explicit LyingEnrollment(Liar* liar) : liar_(liar) {}
  grpc::Status Enroll(grpc::ServerContext* c, const v1::EnrollRequest* r,
                      v1::EnrollResponse* out) override {
    grpc::Status s = liar_->backend().enrollment().Enroll(liar_->Forward(c).get(), *r, out);
    if (s.ok() && liar_->Lies("other-device-id")) out->set_device_id(liar_->fake_id());
    return s;
  }
  grpc::Status Challenge(grpc::ServerContext* c, const v1::ChallengeRequest* r,
                         v1::ChallengeResponse* out) override {
    return liar_->backend().enrollment().Challenge(liar_->Forward(c).get(), *r, out);
  }
  grpc::Status Authenticate(grpc::ServerContext* c, const v1::AuthenticateRequest* r,
                            v1::AuthenticateResponse* out) override {
    return liar_->backend().enrollment().Authenticate(liar_->Forward(c).get(), *r, out);
  }

 private:
  Liar* const liar_;
};

class LyingSync final : public v1::Sync::Service {
 public:
  explicit LyingSync(Liar* liar) : liar_(liar) {}
  grpc::Status GetSettings(grpc::ServerContext* c, const v1::GetSettingsRequest* r,
                           v1::GetSettingsResponse* out) override {
    return liar_->backend().sync().GetSettings(liar_->Forward(c).get(), *r, out);
  }
  // The log is told truthfully: these lies are about records, grants and devices.
  grpc::Status GetLogProofs(grpc::ServerContext* c, const v1::GetLogProofsRequest* r,
                            v1::GetLogProofsResponse* out) override {
    return liar_->backend().sync().GetLogProofs(liar_->Forward(c).get(), *r, out);
  }

 private:
  Liar* const liar_;
};

class LyingReview final : public v1::Review::Service {
 public:
  explicit LyingReview(Liar* liar) : liar_(liar) {}

  grpc::Status GetGrants(grpc::ServerContext* c, const v1::GetGrantsRequest* r,
                         v1::GetGrantsResponse* out) override {
    return liar_->backend().review().GetGrants(liar_->Forward(c).get(), *r, out);
  }

  grpc::Status ListRecords(grpc::ServerContext* c, const v1::ListRecordsRequest* r,
                           v1::ListRecordsResponse* out) override {
    grpc::Status s = liar_->backend().review().ListRecords(liar_->Forward(c).get(), *r, out);
    if (!s.ok() || out->records().empty() || r->after_log_index() != 0) return s;
    std::lock_guard lock(liar_->mu);
    liar_->first = out->records(0);
    liar_->have_first = true;
    uint64_t last = out->records(out->records_size() - 1).log_index();
    if (liar_->Lies("device-seq")) {
      out->mutable_records(0)->set_device_seq(out->records(0).device_seq() + 1000);
    }
    if (liar_->Lies("duplicate")) {
      v1::RecordSummary* copy = out->add_records();
      *copy = liar_->first;
      copy->set_record_id(liar_->duplicate_id());
      copy->set_log_index(last + 1);
    }
    if (liar_->Lies("forge")) {
      v1::RecordSummary* forged = out->add_records();
      *forged = liar_->first;
      forged->set_record_id(liar_->forged_id());
      forged->set_device_seq(liar_->first.device_seq() + 1);
      forged->set_log_index(last + 2);
    }
    return s;
  }

  grpc::Status FetchRecords(grpc::ServerContext* c, const v1::FetchRecordsRequest* r,
                            grpc::ServerWriter<v1::FetchedRecord>* writer) override {
    v1::FetchRecordsRequest real;
    bool want_forged = false, want_duplicate = false;
    for (const std::string& id : r->record_ids()) {
      if (id == liar_->forged_id()) {
        want_forged = true;
      } else if (id == liar_->duplicate_id()) {
        want_duplicate = true;
      } else {
        real.add_record_ids(id);
      }
    }
    v1::RecordSummary first;
    {
      std::lock_guard lock(liar_->mu);
      first = liar_->first;
    }
    // The first real record backs the duplicate and lends its certificate to the forgery.
    std::optional<v1::FetchedRecord> model;
    if (want_forged || want_duplicate) {
      v1::FetchRecordsRequest one;
      one.add_record_ids(first.record_id());
      auto context = liar_->Forward(c);  // outlives the reader
      auto reader = liar_->backend().review().FetchRecords(context.get(), one);
      v1::FetchedRecord record;
      if (reader->Read(&record)) model = record;
      while (reader->Read(&record)) {
      }
      grpc::Status s = reader->Finish();
      if (!s.ok() || !model.has_value()) return s;
    }
    if (real.record_ids_size() > 0) {
      auto context = liar_->Forward(c);
      auto reader = liar_->backend().review().FetchRecords(context.get(), real);
      v1::FetchedRecord record;
      while (reader->Read(&record)) {
        if (record.summary().record_id() == first.record_id() && liar_->Lies("device-seq")) {
          record.mutable_summary()->set_device_seq(record.summary().device_seq() + 1000);
        }
        if (record.summary().record_id() == first.record_id() && liar_->Lies("backdate")) {
          Backdate(record);
        }
        writer->Write(record);
      }
      grpc::Status s = reader->Finish();
      if (!s.ok()) return s;
    }
    if (want_duplicate) {
      v1::FetchedRecord copy = *model;
      copy.mutable_summary()->set_record_id(liar_->duplicate_id());
      writer->Write(copy);
    }
    if (want_forged) {
      absl::StatusOr<v1::FetchedRecord> forged = Forge(c, *model);
      if (!forged.ok()) {
        std::cerr << "lying server: cannot forge: " << forged.status() << "\n";
        return grpc::Status(grpc::StatusCode::INTERNAL, "forgery failed");
      }
      writer->Write(*forged);
    }
    return grpc::Status::OK;
  }

 private:
  void Backdate(v1::FetchedRecord& record) {
    v1::ReceiptBody body;
    body.ParseFromString(record.receipt().body());
    body.set_received_at(body.received_at() - 7 * 24 * 3600);
    *record.mutable_receipt() = crypto::SignReceipt(body, liar_->data().receipt_key);
    record.mutable_summary()->set_received_at(body.received_at());
  }

  // An invented testimony sealed to the project's current key, under the real monitor's
  // id and certificate, signed with a key made here, with a genuine receipt.
  absl::StatusOr<v1::FetchedRecord> Forge(grpc::ServerContext* c, const v1::FetchedRecord& model) {
    v1::GetGrantsResponse grants;
    grpc::Status s = liar_->backend().review().GetGrants(liar_->Forward(c).get(),
                                                         v1::GetGrantsRequest(), &grants);
    if (!s.ok() || grants.grants().empty()) return absl::InternalError("no grant to learn keys");
    v1::ProjectKeyBody key;
    for (const v1::Grant& grant : grants.grants()) {
      v1::ProjectKeyBody body;
      if (body.ParseFromString(grant.key().body()) && body.epoch() > key.epoch()) key = body;
    }
    v1::RecordHeader header;
    header.ParseFromString(model.envelope().header());
    crypto::SealParams params;
    params.record_id = liar_->forged_id();
    params.device_seq = header.device_seq() + 1;
    params.project_id = header.project_id();
    params.device_id = header.device_id();
    params.recipients.push_back({key.public_key(), key.epoch()});
    v1::Testimony testimony;
    testimony.set_narrative("Invented by the server: this never happened.");
    testimony.mutable_incident()->set_region("kidal");
    v1::Act* act = testimony.add_acts();
    act->set_type("killing");
    act->set_count(40);
    absl::StatusOr<v1::Envelope> envelope = crypto::SealRecord(testimony, params, liar_->forger());
    if (!envelope.ok()) return envelope.status();
    v1::ReceiptBody body;
    body.set_format_version(1);
    body.set_record_id(liar_->forged_id());
    body.set_digest(crypto::RecordDigest(*envelope));
    body.set_log_index(model.summary().log_index() + 1000);
    body.set_received_at(model.summary().received_at());
    body.set_server_key_id(crypto::KeyId(liar_->data().receipt_key.public_key()));
    v1::FetchedRecord forged = model;
    forged.mutable_summary()->set_record_id(liar_->forged_id());
    forged.mutable_summary()->set_device_seq(params.device_seq);
    forged.mutable_summary()->set_log_index(body.log_index());
    *forged.mutable_envelope() = *envelope;
    *forged.mutable_receipt() = crypto::SignReceipt(body, liar_->data().receipt_key);
    forged.set_device_signing_key(liar_->forger().public_key());  // what reviewers once trusted
    return forged;
  }

  Liar* const liar_;
};

class LyingAdmin final : public v1::Admin::Service {
 public:
  explicit LyingAdmin(Liar* liar) : liar_(liar) {}
#define TEMOIN_FORWARD(Method)                                                \
  grpc::Status Method(grpc::ServerContext* c, const v1::Method##Request* r,   \
                      v1::Method##Response* out) override {                   \
    return liar_->backend().admin().Method(liar_->Forward(c).get(), *r, out); \
  }
  TEMOIN_FORWARD(CreateProject)
  TEMOIN_FORWARD(CreateInvite)
  TEMOIN_FORWARD(PutGrant)
  TEMOIN_FORWARD(GetProjectSecrets)
  TEMOIN_FORWARD(RotateProjectKey)
  TEMOIN_FORWARD(RemoveGrant)
  TEMOIN_FORWARD(GetAuditLog)
#undef TEMOIN_FORWARD

  grpc::Status ListDevices(grpc::ServerContext* c, const v1::ListDevicesRequest* r,
                           v1::ListDevicesResponse* out) override {
    grpc::Status s = liar_->backend().admin().ListDevices(liar_->Forward(c).get(), *r, out);
    if (s.ok() && liar_->Lies("fake-device")) {
      v1::DeviceInfo* fake = out->add_devices();
      fake->set_device_id(liar_->fake_id());
      fake->set_role(v1::ROLE_REVIEWER);
      fake->set_state("active");
      fake->set_signing_public_key(liar_->fake_sign().public_key());
      fake->set_box_public_key(liar_->fake_box().public_key());
    }
    return s;
  }

  grpc::Status ListGrants(grpc::ServerContext* c, const v1::ListGrantsRequest* r,
                          v1::ListGrantsResponse* out) override {
    grpc::Status s = liar_->backend().admin().ListGrants(liar_->Forward(c).get(), *r, out);
    if (s.ok() && liar_->Lies("extra-grantee")) {
      v1::GrantInfo* extra = out->add_grants();
      extra->set_reviewer_device_id(liar_->fake_id());  // its id hashes its keys: self-consistent
      extra->set_signing_public_key(liar_->fake_sign().public_key());
      extra->set_box_public_key(liar_->fake_box().public_key());
    }
    return s;
  }

  grpc::Status RevokeDevice(grpc::ServerContext* c, const v1::RevokeDeviceRequest* r,
                            v1::RevokeDeviceResponse* out) override {
    grpc::Status s = liar_->backend().admin().RevokeDevice(liar_->Forward(c).get(), *r, out);
    if (s.ok() && liar_->Lies("omit-projects")) out->clear_ungranted_projects();
    return s;
  }

 private:
  Liar* const liar_;
};

int Main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  for (const char* needed : {"--data", "--listen", "--backend", "--lies"}) {
    if (!flags.contains(needed)) {
      std::cerr << "usage: temoin-lying-server --data DIR --listen HOST:PORT --backend "
                   "HOST:PORT --lies FILE\n";
      return 2;
    }
  }
  if (!crypto::InitializeCrypto().ok()) return 1;
  absl::StatusOr<server::ServerData> data = server::LoadDataDir(flags["--data"]);
  if (!data.ok()) {
    std::cerr << "lying server: " << data.status() << "\n";
    return 1;
  }
  absl::StatusOr<std::unique_ptr<client::Connection>> backend =
      client::Connection::Create(flags["--backend"], data->tls_spki_sha256);
  if (!backend.ok()) {
    std::cerr << "lying server: " << backend.status() << "\n";
    return 1;
  }
  grpc::SslServerCredentialsOptions tls;
  tls.pem_key_cert_pairs.push_back({data->tls.private_key_pem, data->tls.certificate_pem});
  Liar liar(flags["--lies"], std::move(*data), std::move(*backend));
  LyingEnrollment enrollment(&liar);
  LyingSync sync(&liar);
  LyingReview review(&liar);
  LyingAdmin admin(&liar);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(flags["--listen"], grpc::SslServerCredentials(tls));
  builder.RegisterService(&enrollment);
  builder.RegisterService(&sync);
  builder.RegisterService(&review);
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::cerr << "lying server: cannot listen on " << flags["--listen"] << "\n";
    return 1;
  }
  std::cerr << "lying server: listening on " << flags["--listen"] << "\n";
  server->Wait();
  return 0;
}

}  // namespace
}  // namespace temoin::e2e

int main(int argc, char** argv) { return temoin::e2e::Main(argc, argv); }
