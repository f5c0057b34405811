#ifndef TEMOIN_CLIENT_VAULT_VAULT_H_
#define TEMOIN_CLIENT_VAULT_VAULT_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/vault/key_file.h"
#include "crypto/keys.h"
#include "crypto/mac_key.h"
#include "crypto/secret_buffer.h"

namespace rocksdb {
class DB;
}

// The device's encrypted local store, under --home:
//   vault.key   KeyFile: the 32-byte master key sealed under Argon2id(passphrase), and
//               a second slot for the duress passphrase (see key_file.h)
//   store/      RocksDB; every value sealed with XChaCha20-Poly1305 under a subkey of
//               the master key, its associated data binding the stored key
// Stored keys are keyed hashes of (namespace, name), so the store's keys reveal nothing
// either; the name travels inside the sealed value. Every write is synced (fsync)
// before it returns.
namespace temoin::client {

// What vault.cover carries (client/vault/cover_file.h): every value of `namespaces`
// that `keep` accepts (all of them when `keep` is empty). The caller (client/core's
// CoverSelectionForEnrolment) knows which values make up the enrolment.
struct CoverSelection {
  std::vector<std::string> namespaces;
  std::function<bool(absl::string_view ns, absl::string_view name, absl::string_view value)> keep;
};

// The vault's own namespace for duress: "pk" (the duress public key, set by
// SetDuressPassphrase) and "signal" (set in the vault a duress unlock builds: the
// device signs in under duress from then on). Never carried by the cover.
inline constexpr char kDuressNs[] = "duress";

struct VaultOptions {
  // Argon2id cost. Empty: measured on this device (CalibrateKdfCost). The floor (t=3,
  // 64 MiB) is enforced on create and on open.
  std::optional<KdfCost> cost;
};

// One atomic group of vault writes.
class VaultBatch {
 public:
  void Put(absl::string_view ns, absl::string_view name, absl::string_view value) {
    puts_.push_back({std::string(ns), std::string(name), std::string(value)});
  }
  void Delete(absl::string_view ns, absl::string_view name) {
    deletes_.push_back({std::string(ns), std::string(name)});
  }
  ~VaultBatch();

 private:
  friend class Vault;
  struct PutOp {
    std::string ns, name, value;
  };
  struct DeleteOp {
    std::string ns, name;
  };
  std::vector<PutOp> puts_;
  std::vector<DeleteOp> deletes_;
};

class Vault {
 public:
  // Creates vault.key and store/ under `home`. kAlreadyExists when a vault is there.
  static absl::StatusOr<std::unique_ptr<Vault>> Create(const std::string& home,
                                                       absl::string_view passphrase,
                                                       const VaultOptions& options = {});
  // kFailedPrecondition "no vault in HOME; enrol this device first" when missing;
  // kUnauthenticated "wrong passphrase" when the key does not open (no hint of why);
  // kDataLoss when the key file or the store is damaged.
  //
  // The duress passphrase opens too: vault.cover is opened with the secret key slot 1
  // seals, the vault is wiped silently, and a fresh vault under that passphrase is
  // returned holding only the enrolment the cover carried (none when it carried
  // nothing) and kDuressNs/"signal". The caller cannot tell this from a normal unlock
  // (same messages; the extra work takes milliseconds beside Argon2id). After
  // the configured number of wrong passphrases in a row (off by default), the vault is
  // wiped and the next call finds none.
  //
  // While another process holds the store (a `temoin sync --watch` in the middle of a
  // sync, another command), waits for it up to two minutes, calling `on_busy` once,
  // then kUnavailable. A duress unlock waits the same way before it wipes, so the two
  // still cannot be told apart, and a watch is never left writing under a wipe. A wait
  // that a wipe or a duress unlock ends is kFailedPrecondition: these keys never open
  // the store that replaced theirs.
  static absl::StatusOr<std::unique_ptr<Vault>> Open(const std::string& home,
                                                     absl::string_view passphrase,
                                                     const std::function<void()>& on_busy = {});

  // For `temoin recover-export` when the store is damaged: copies store/ to
  // `scratch_dir`, opens the copy without paranoid checks (after RocksDB's repair if it
  // will not open as it is), and returns a vault whose Scan skips values that fail
  // authentication instead of failing (see skipped_values()). The original store is
  // not touched. kUnauthenticated "wrong passphrase"; kDataLoss when nothing opens.
  static absl::StatusOr<std::unique_ptr<Vault>> OpenSalvaged(const std::string& home,
                                                             absl::string_view passphrase,
                                                             const std::string& scratch_dir);
  // Values a salvaging Scan skipped because they failed authentication.
  uint64_t skipped_values() const { return skipped_values_; }

  // Re-seals the master key under a new passphrase; the store is not re-encrypted.
  // kUnauthenticated "wrong passphrase" for a wrong `current`.
  static absl::Status ChangePassphrase(const std::string& home, absl::string_view current,
                                       absl::string_view replacement);
  // Sets (or replaces) the duress passphrase. kInvalidArgument when it equals the real one.
  // Makes a new X25519 pair: slot 1 seals its secret half, the public half is kept under
  // the master key (kDuressNs/"pk"), and vault.cover is rewritten at once with what
  // `cover` selects.
  static absl::Status SetDuressPassphrase(const std::string& home, absl::string_view current,
                                          absl::string_view duress,
                                          const CoverSelection& cover = {});
  // Wipe after `limit` wrong passphrases in a row; 0 turns it off.
  static absl::Status SetUnlockLimit(const std::string& home, absl::string_view current,
                                     uint32_t limit);
  ~Vault();

  // std::nullopt when absent. kDataLoss when a value fails authentication.
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view ns, absl::string_view name);
  absl::Status Put(absl::string_view ns, absl::string_view name, absl::string_view value);
  // Atomic and durable. kFailedPrecondition when the disk is full.
  absl::Status Commit(VaultBatch& batch);
  // Every (name, value) in `ns`, in no particular order, until `visit` returns false.
  absl::Status Scan(
      absl::string_view ns,
      const std::function<bool(absl::string_view name, absl::string_view value)>& visit);

  // Rewrites vault.cover: the selected values sealed to the duress public key, or fresh
  // random bytes when no duress passphrase is set. Called after every sync.
  absl::Status RefreshCover(const CoverSelection& selection);
  // Whether this vault was built by a duress unlock (kDuressNs/"signal").
  absl::StatusOr<bool> UnderDuress();

  // `temoin check`: reads every block of every table file (RocksDB's block checksums),
  // then every value of every namespace, and opens each one (its authentication tag and
  // its binding to the stored key). Unlike a command's own reads, whose blocks depend on
  // the layout, nothing is left unread. kDataLoss naming the damaged file or value.
  struct CheckReport {
    uint64_t values = 0;
    uint64_t table_files = 0;
  };
  absl::StatusOr<CheckReport> Check();

  // For a process that stays up (`temoin sync --watch`): closes the store so that other
  // temoin commands can open it (RocksDB allows one process at a time), keeping the keys
  // in memory. Until Reacquire succeeds, every read and write is kFailedPrecondition.
  void Release();
  // Opens the store again with the kept keys. kUnavailable "the vault is in use by
  // another temoin command" while another process holds it: try again later.
  // kFailedPrecondition when the vault was wiped: its key is gone, its store is gone or
  // is another (a duress unlock's). Excludes a concurrent WipeVault (key_file_lock.h): the
  // wipe either waits for this open to end or is past the key, and this refuses.
  absl::Status Reacquire();
  bool released() const { return db_ == nullptr; }
  // Whether the vault this was unlocked from is gone (its key file missing) or another in
  // its place (its store not the one opened: a duress unlock's). A key or store that
  // cannot be read for another reason (a failing card) is not a wipe: the next open
  // reports it. A passphrase change is neither. For `sync --watch`, which must then stop
  // rather than open what is there now with the keys it holds.
  bool WipedOrReplaced() const;

 private:
  Vault(std::unique_ptr<rocksdb::DB> db, crypto::Aead aead, crypto::SecretBuffer index_key);
  std::string StoreKey(absl::string_view ns, absl::string_view name) const;
  std::string NamespacePrefix(absl::string_view ns) const;
  std::string Seal(absl::string_view store_key, absl::string_view name,
                   absl::string_view value) const;
  absl::Status Held() const;  // kFailedPrecondition while released
  // kFailedPrecondition when store/ is gone or holds another store (its IDENTITY).
  absl::Status CheckStoreIsTheOneOpened() const;

  std::string home_;            // empty for a salvaged copy: no cover is written from it
  std::string store_identity_;  // RocksDB's IDENTITY of the store first opened
  std::unique_ptr<rocksdb::DB> db_;
  crypto::Aead aead_;
  crypto::MacKey index_key_;
  // Each namespace's tag, computed once: a store key is named for every read and write,
  // and the namespaces are the k*Ns constants (16). Guarded because an attachment upload
  // reads the vault on its writer thread while its reader thread commits
  // (client/sync/attachment_transfer.cc). Wiped with the vault: the map pairs each
  // namespace's label ("duress" among them) with its tag on disk.
  mutable std::mutex prefixes_mu_;
  mutable absl::flat_hash_map<std::string, std::string> prefixes_;
  bool salvaging_ = false;
  uint64_t skipped_values_ = 0;
};

bool VaultExists(const std::string& home);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_VAULT_VAULT_H_
