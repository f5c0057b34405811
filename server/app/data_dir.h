#ifndef TEMOIN_SERVER_APP_DATA_DIR_H_
#define TEMOIN_SERVER_APP_DATA_DIR_H_

#include <string>

#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "server/app/tls_certificate.h"
#include "temoin/v1/identity.pb.h"

// The server's data directory (0700):
//   config.json        organisation name and listen address (editable)
//   vocabulary.json    the vocabulary served to devices (editable; default shipped)
//   keys/receipt.key   Ed25519 secret that signs receipts (0600)
//   keys/bundle.key    X25519 secret that opens offline bundles (0600)
//   keys/log.key       Ed25519 secret that signs transparency-log checkpoints (0600)
//   keys/receipt.next.key, keys/log.next.key  the next receipt and log keys while a
//                      rotation is under way (temoin-server keys next / keys switch; 0600)
//   keys/log.origin    the log's name, kept from the first log-key rotation on
//   tls/cert.pem       self-signed certificate; devices pin its key
//   tls/key.pem        its private key (0600)
//   tls/next-cert.pem, tls/next-key.pem  the next TLS identity while a rotation is
//                      under way (temoin-server tls next / tls switch)
//   tls/retired/<pin hex>.pem  certificates of earlier TLS keys (their keys shredded)
//   db/                RocksDB store (the default), or
//   store.conninfo     the PostgreSQL database holding the store instead (0600; see
//                      server/app/open_store.h)
namespace temoin::server {

inline constexpr char kDefaultListen[] = "127.0.0.1:7443";

struct ServerData {
  std::string root;
  std::string org_name;
  std::string listen;
  crypto::SigningKey receipt_key;
  TlsIdentity tls;
  std::string tls_spki_sha256;
  v1::Vocabulary vocabulary;
  std::string db_path() const { return root + "/db"; }
};

// Creates every file above and the store, and returns the first admin's enrolment code
// (single use, 24 h). kAlreadyExists when `root` already holds a server. A non-empty
// `store_conninfo` puts the store in that PostgreSQL database (schema created here).
absl::StatusOr<std::string> InitializeDataDir(const std::string& root, const std::string& org_name,
                                              const std::string& listen,
                                              const std::string& store_conninfo = "");

// Reads the files above. kFailedPrecondition "not a temoin data directory; run
// temoin-server init first" when config.json is missing; kDataLoss when a file is
// damaged.
absl::StatusOr<ServerData> LoadDataDir(const std::string& root);

// Reads keys/bundle.key, making it first when missing (data directories made before
// bundles existed get one on their next start). kDataLoss when damaged.
absl::StatusOr<crypto::BoxKeyPair> LoadOrCreateBundleKey(const std::string& root);

// Reads keys/log.key, making it first when missing (data directories made before the
// transparency log get one on their next start). kDataLoss when damaged.
absl::StatusOr<crypto::SigningKey> LoadOrCreateLogKey(const std::string& root);

// The transparency log's signing key and its name (the origin line of its checkpoints).
struct LogIdentity {
  crypto::SigningKey key;
  std::string origin;
  std::string vkey() const;  // the signed-note verifier key devices and witnesses hold
};

// keys/log.key (made when missing, as LoadOrCreateLogKey) and the log's origin: the name
// derived from the first log key, which keys/log.origin keeps from the first rotation on,
// so that one tree keeps one name under every key. kDataLoss when a file is damaged.
absl::StatusOr<LogIdentity> LoadOrCreateLogIdentity(const std::string& root);

// TLS key rotation, step 1: makes tls/next-*.pem when absent (keeps them when present,
// so running it twice announces one key) and returns the next key's pin (SPKI SHA-256).
absl::StatusOr<std::string> PrepareNextTlsKey(const std::string& root);

// TLS key rotation, last step: the next identity becomes the current one (at the next
// start of the server), the current certificate is kept under tls/retired/ and its key
// shredded. Returns the new pin. kFailedPrecondition when there is no next key.
// Interrupted, it can be run again: the next files go only once the switch is whole.
absl::StatusOr<std::string> SwitchToNextTlsKey(const std::string& root);

// Receipt key rotation, step 1: makes keys/receipt.next.key when absent (keeps it when
// present, so running it twice certifies one key) and returns its public key. The
// server goes on signing with its current key until the switch.
absl::StatusOr<std::string> PrepareNextReceiptKey(const std::string& root);

// Receipt key rotation, last step: the next key becomes the current one (at the next
// start of the server) and the current secret is shredded: receipts it signed stay
// verifiable under the organisation's statement, but nobody can sign more with it from
// this disk. Returns the new public key. kFailedPrecondition when there is no next key.
// Interrupted, it can be run again: the next file goes only once the switch is whole.
absl::StatusOr<std::string> SwitchToNextReceiptKey(const std::string& root);

// Log key rotation, the same two steps for keys/log.next.key; each returns the key's
// vkey under the log's unchanged origin (written to keys/log.origin first). The tree,
// its leaves and its proofs do not change: only who signs its checkpoints. Devices and
// witnesses accept a new key once the organisation certifies it (certify-server-keys
// --next-log-key; temoin-witness add-log), and check the new checkpoints' consistency
// with those they hold under the old key.
absl::StatusOr<std::string> PrepareNextLogKey(const std::string& root);
absl::StatusOr<std::string> SwitchToNextLogKey(const std::string& root);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_DATA_DIR_H_
