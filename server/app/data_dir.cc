#include "server/app/data_dir.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/enrollment_code.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/tls_pin.h"
#include "common/vocabulary.h"
#include "crypto/checkpoint.h"
#include "nlohmann/json.hpp"
#include "server/app/open_store.h"
#include "server/core/core.h"

namespace temoin::server {
namespace {

std::string ConfigPath(const std::string& root) { return root + "/config.json"; }

std::string NextCertPath(const std::string& root) { return root + "/tls/next-cert.pem"; }
std::string NextKeyPath(const std::string& root) { return root + "/tls/next-key.pem"; }
std::string ReceiptKeyPath(const std::string& root) { return root + "/keys/receipt.key"; }
std::string NextReceiptKeyPath(const std::string& root) { return root + "/keys/receipt.next.key"; }

absl::StatusOr<crypto::SigningKey> ReadSigningKey(const std::string& path, absl::string_view name) {
  TEMOIN_ASSIGN_OR_RETURN(std::string secret, ReadFileToString(path, 4096));
  absl::StatusOr<crypto::SigningKey> key = crypto::SigningKey::FromSecretKey(secret);
  crypto::WipeString(secret);
  if (!key.ok()) return absl::DataLossError(absl::StrCat(name, " is damaged"));
  return key;
}

absl::Status RequireDataDir(const std::string& root) {
  if (PathExists(ConfigPath(root))) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(root, " is not a temoin data directory; run temoin-server init first"));
}

}  // namespace

absl::StatusOr<std::string> PrepareNextTlsKey(const std::string& root) {
  TEMOIN_RETURN_IF_ERROR(RequireDataDir(root));
  if (!PathExists(NextCertPath(root)) || !PathExists(NextKeyPath(root))) {
    TEMOIN_ASSIGN_OR_RETURN(TlsIdentity next, GenerateSelfSignedIdentity());
    // The key first: a cert without its key is never left looking complete.
    TEMOIN_RETURN_IF_ERROR(WriteFileDurably(NextKeyPath(root), next.private_key_pem, 0600));
    crypto::WipeString(next.private_key_pem);
    TEMOIN_RETURN_IF_ERROR(WriteFileDurably(NextCertPath(root), next.certificate_pem, 0644));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string cert, ReadFileToString(NextCertPath(root), 1 << 20));
  return SpkiSha256FromPem(cert);
}

absl::StatusOr<std::string> SwitchToNextTlsKey(const std::string& root) {
  if (!PathExists(NextCertPath(root)) || !PathExists(NextKeyPath(root))) {
    return absl::FailedPreconditionError(
        "no next TLS key to switch to; run temoin-server tls next first, and announce it "
        "with temoin admin rotate-tls");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string next_cert, ReadFileToString(NextCertPath(root), 1 << 20));
  TEMOIN_ASSIGN_OR_RETURN(std::string next_key, ReadFileToString(NextKeyPath(root), 1 << 20));
  TEMOIN_ASSIGN_OR_RETURN(std::string next_pin, SpkiSha256FromPem(next_cert));
  TEMOIN_ASSIGN_OR_RETURN(std::string cert, ReadFileToString(root + "/tls/cert.pem", 1 << 20));
  absl::StatusOr<std::string> pin = SpkiSha256FromPem(cert);
  if (pin.ok() && *pin != next_pin) {  // a rerun after an interrupted switch skips this
    TEMOIN_RETURN_IF_ERROR(MakeDirectories(root + "/tls/retired", 0700));
    TEMOIN_RETURN_IF_ERROR(
        WriteFileDurably(absl::StrCat(root, "/tls/retired/", ToHex(*pin), ".pem"), cert, 0644));
    // Whoever may have copied the old key must not find it on this disk too.
    absl::Status shredded = OverwriteInPlace(root + "/tls/key.pem");
    if (!shredded.ok() && !absl::IsNotFound(shredded)) return shredded;
  }
  absl::Status written = WriteFileDurably(root + "/tls/key.pem", next_key, 0600);
  crypto::WipeString(next_key);
  TEMOIN_RETURN_IF_ERROR(written);
  TEMOIN_RETURN_IF_ERROR(WriteFileDurably(root + "/tls/cert.pem", next_cert, 0644));
  TEMOIN_RETURN_IF_ERROR(ShredFile(NextKeyPath(root)));
  TEMOIN_RETURN_IF_ERROR(ShredFile(NextCertPath(root)));
  return next_pin;
}

namespace {

// A signing key that rotates: the current secret and the next one while a rotation is
// under way (temoin-server keys next / keys switch).
struct RotatingKey {
  std::string current, next;  // paths under the data directory
  const char* flag;           // the certify-server-keys flag that certifies the next key
};

RotatingKey ReceiptKeyFiles(const std::string& root) {
  return {ReceiptKeyPath(root), NextReceiptKeyPath(root), "--next-receipt-key"};
}
RotatingKey LogKeyFiles(const std::string& root) {
  return {root + "/keys/log.key", root + "/keys/log.next.key", "--next-log-key"};
}
std::string LogOriginPath(const std::string& root) { return root + "/keys/log.origin"; }

std::string Relative(const std::string& root, const std::string& path) {
  return path.substr(root.size() + 1);
}

absl::StatusOr<crypto::SigningKey> PrepareNext(const std::string& root, const RotatingKey& files) {
  TEMOIN_RETURN_IF_ERROR(RequireDataDir(root));
  if (!PathExists(files.next)) {
    crypto::SigningKey next = crypto::SigningKey::Generate();
    TEMOIN_RETURN_IF_ERROR(WriteFileDurably(files.next, next.secret_key().ExposeSecret(), 0600));
  }
  return ReadSigningKey(files.next, Relative(root, files.next));
}

absl::StatusOr<crypto::SigningKey> SwitchToNext(const std::string& root, const RotatingKey& files) {
  TEMOIN_RETURN_IF_ERROR(RequireDataDir(root));
  if (!PathExists(files.next)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no next key in ", Relative(root, files.next),
        " to switch to; run temoin-server keys next first, and certify it with temoin admin "
        "certify-server-keys ",
        files.flag));
  }
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey next,
                          ReadSigningKey(files.next, Relative(root, files.next)));
  absl::StatusOr<crypto::SigningKey> current =
      ReadSigningKey(files.current, Relative(root, files.current));
  if (current.ok() && current->public_key() != next.public_key()) {
    // A rerun after an interrupted switch skips this. Whoever may have copied the old
    // key must not find it on this disk too.
    absl::Status shredded = OverwriteInPlace(files.current);
    if (!shredded.ok() && !absl::IsNotFound(shredded)) return shredded;
  }
  TEMOIN_RETURN_IF_ERROR(WriteFileDurably(files.current, next.secret_key().ExposeSecret(), 0600));
  TEMOIN_RETURN_IF_ERROR(ShredFile(files.next));
  return next;
}

// Writes keys/log.origin from the current log key when absent: from the first rotation
// on, the name no longer follows from the key.
absl::StatusOr<std::string> PinLogOrigin(const std::string& root) {
  if (PathExists(LogOriginPath(root))) {
    TEMOIN_ASSIGN_OR_RETURN(std::string origin, ReadFileToString(LogOriginPath(root), 4096));
    return std::string(absl::StripAsciiWhitespace(origin));
  }
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey current,
                          ReadSigningKey(LogKeyFiles(root).current, "keys/log.key"));
  std::string origin = LogOrigin(current.public_key());
  TEMOIN_RETURN_IF_ERROR(WriteFileDurably(LogOriginPath(root), origin + "\n", 0644));
  return origin;
}

}  // namespace

absl::StatusOr<std::string> PrepareNextReceiptKey(const std::string& root) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey next, PrepareNext(root, ReceiptKeyFiles(root)));
  return next.public_key();
}

absl::StatusOr<std::string> SwitchToNextReceiptKey(const std::string& root) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey next, SwitchToNext(root, ReceiptKeyFiles(root)));
  return next.public_key();
}

absl::StatusOr<std::string> PrepareNextLogKey(const std::string& root) {
  TEMOIN_RETURN_IF_ERROR(RequireDataDir(root));
  TEMOIN_RETURN_IF_ERROR(LoadOrCreateLogKey(root).status());
  TEMOIN_ASSIGN_OR_RETURN(std::string origin, PinLogOrigin(root));
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey next, PrepareNext(root, LogKeyFiles(root)));
  return crypto::FormatVkey(origin, next.public_key());
}

absl::StatusOr<std::string> SwitchToNextLogKey(const std::string& root) {
  TEMOIN_RETURN_IF_ERROR(RequireDataDir(root));
  // Before the key changes: afterwards the old key's name could not be derived.
  TEMOIN_ASSIGN_OR_RETURN(std::string origin, PinLogOrigin(root));
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey next, SwitchToNext(root, LogKeyFiles(root)));
  return crypto::FormatVkey(origin, next.public_key());
}

absl::StatusOr<LogIdentity> LoadOrCreateLogIdentity(const std::string& root) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey key, LoadOrCreateLogKey(root));
  if (!PathExists(LogOriginPath(root))) {
    std::string origin = LogOrigin(key.public_key());
    return LogIdentity{std::move(key), std::move(origin)};
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string origin, PinLogOrigin(root));
  return LogIdentity{std::move(key), std::move(origin)};
}

std::string LogIdentity::vkey() const { return crypto::FormatVkey(origin, key.public_key()); }

absl::StatusOr<std::string> InitializeDataDir(const std::string& root, const std::string& org_name,
                                              const std::string& listen,
                                              const std::string& store_conninfo) {
  if (org_name.empty() || org_name.size() > 200) {
    return absl::InvalidArgumentError("organisation name must be 1 to 200 characters");
  }
  if (PathExists(ConfigPath(root))) {
    return absl::AlreadyExistsError(absl::StrCat(root, " already holds a temoin server"));
  }
  TEMOIN_RETURN_IF_ERROR(MakeDirectories(root + "/keys", 0700));
  TEMOIN_RETURN_IF_ERROR(MakeDirectories(root + "/tls", 0700));

  crypto::SigningKey receipt_key = crypto::SigningKey::Generate();
  TEMOIN_RETURN_IF_ERROR(
      WriteFileDurably(root + "/keys/receipt.key", receipt_key.secret_key().ExposeSecret(), 0600));
  TEMOIN_RETURN_IF_ERROR(LoadOrCreateBundleKey(root).status());
  TEMOIN_RETURN_IF_ERROR(LoadOrCreateLogKey(root).status());
  TEMOIN_ASSIGN_OR_RETURN(TlsIdentity tls, GenerateSelfSignedIdentity());
  TEMOIN_RETURN_IF_ERROR(WriteFileDurably(root + "/tls/key.pem", tls.private_key_pem, 0600));
  crypto::WipeString(tls.private_key_pem);
  TEMOIN_RETURN_IF_ERROR(WriteFileDurably(root + "/tls/cert.pem", tls.certificate_pem, 0644));
  TEMOIN_RETURN_IF_ERROR(
      WriteFileDurably(root + "/vocabulary.json", std::string(DefaultVocabularyJson()), 0644));
  TEMOIN_ASSIGN_OR_RETURN(v1::Vocabulary vocabulary, DefaultVocabulary());
  TEMOIN_ASSIGN_OR_RETURN(std::string pin, SpkiSha256FromPem(tls.certificate_pem));

  {
    if (!store_conninfo.empty()) TEMOIN_RETURN_IF_ERROR(SetUpPostgresStore(root, store_conninfo));
    TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(root));
    v1::ServerConfig config;
    config.set_org_name(org_name);
    config.set_listen(listen);
    WriteBatch batch;
    batch.Put(keys::Config(), config.SerializeAsString());
    TEMOIN_RETURN_IF_ERROR(store->Commit(batch));
    Core core(store.get(), &SystemClock::Get(), std::move(receipt_key), vocabulary);
    TEMOIN_ASSIGN_OR_RETURN(v1::CreateInviteResponse invite,
                            core.enrollment().CreateInvite(v1::ROLE_ADMIN, "", 0,
                                                           /*bootstrap=*/true));
    // config.json last: its presence means the directory is complete.
    nlohmann::json json = {{"org", org_name}, {"listen", listen}};
    TEMOIN_RETURN_IF_ERROR(WriteFileDurably(ConfigPath(root), json.dump(2) + "\n", 0644));

    v1::EnrollmentCode code;
    code.set_format_version(1);
    code.set_server_address(listen);
    code.set_tls_spki_sha256(pin);
    code.set_role(v1::ROLE_ADMIN);
    code.set_token(invite.token());
    code.set_expires_at(invite.expires_at());
    return EncodeEnrollmentCode(code);
  }
}

absl::StatusOr<ServerData> LoadDataDir(const std::string& root) {
  if (!PathExists(ConfigPath(root))) {
    return absl::FailedPreconditionError(
        absl::StrCat(root, " is not a temoin data directory; run temoin-server init first"));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string config_text, ReadFileToString(ConfigPath(root), 1 << 20));
  nlohmann::json config = nlohmann::json::parse(config_text, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object() || !config.contains("org") || !config["org"].is_string() ||
      !config.contains("listen") || !config["listen"].is_string()) {
    return absl::DataLossError("config.json is damaged: it needs string fields org and listen");
  }
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey receipt_key,
                          ReadSigningKey(ReceiptKeyPath(root), "keys/receipt.key"));
  ServerData data{.root = root,
                  .org_name = config["org"].get<std::string>(),
                  .listen = config["listen"].get<std::string>(),
                  .receipt_key = std::move(receipt_key)};
  TEMOIN_ASSIGN_OR_RETURN(data.tls.certificate_pem,
                          ReadFileToString(root + "/tls/cert.pem", 1 << 20));
  TEMOIN_ASSIGN_OR_RETURN(data.tls.private_key_pem,
                          ReadFileToString(root + "/tls/key.pem", 1 << 20));
  TEMOIN_ASSIGN_OR_RETURN(data.tls_spki_sha256, SpkiSha256FromPem(data.tls.certificate_pem));
  TEMOIN_ASSIGN_OR_RETURN(std::string vocabulary_json,
                          ReadFileToString(root + "/vocabulary.json", 4 << 20));
  absl::StatusOr<v1::Vocabulary> vocabulary = ParseVocabulary(vocabulary_json);
  if (!vocabulary.ok()) {
    return absl::DataLossError(absl::StrCat("vocabulary.json: ", vocabulary.status().message()));
  }
  data.vocabulary = std::move(*vocabulary);
  return data;
}

absl::StatusOr<crypto::BoxKeyPair> LoadOrCreateBundleKey(const std::string& root) {
  const std::string path = root + "/keys/bundle.key";
  if (!PathExists(path)) {
    crypto::BoxKeyPair key = crypto::BoxKeyPair::Generate();
    TEMOIN_RETURN_IF_ERROR(WriteFileDurably(path, key.secret_key().ExposeSecret(), 0600));
    return key;
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string secret, ReadFileToString(path, 4096));
  absl::StatusOr<crypto::BoxKeyPair> key = crypto::BoxKeyPair::FromSecretKey(secret);
  crypto::WipeString(secret);
  if (!key.ok()) return absl::DataLossError("keys/bundle.key is damaged");
  return key;
}

absl::StatusOr<crypto::SigningKey> LoadOrCreateLogKey(const std::string& root) {
  const std::string path = root + "/keys/log.key";
  if (!PathExists(path)) {
    crypto::SigningKey key = crypto::SigningKey::Generate();
    TEMOIN_RETURN_IF_ERROR(WriteFileDurably(path, key.secret_key().ExposeSecret(), 0600));
    return key;
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string secret, ReadFileToString(path, 4096));
  absl::StatusOr<crypto::SigningKey> key = crypto::SigningKey::FromSecretKey(secret);
  crypto::WipeString(secret);
  if (!key.ok()) return absl::DataLossError("keys/log.key is damaged");
  return key;
}

}  // namespace temoin::server
