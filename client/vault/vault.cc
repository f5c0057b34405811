#include "client/vault/vault.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/memory/memory.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/vault/cover_file.h"
#include "client/vault/key_file_lock.h"
#include "client/vault/key_file_store.h"
#include "client/vault/unlock_counter.h"
#include "client/vault/vault_wipe.h"
#include "common/file_util.h"
#include "common/rocksdb_logger.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "temoin/v1/client_store.pb.h"

namespace temoin::client {
namespace {

constexpr size_t kNamespaceTagBytes = 8;
constexpr size_t kNameTagBytes = 16;

std::string KeyFilePath(const std::string& home) { return home + "/vault.key"; }
std::string StorePath(const std::string& home) { return home + "/store"; }

absl::Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  // Not kResourceExhausted, which `sync --until-done` retries (server limits): a retry
  // in the same process would write to the WAL writer that saw the error, which
  // Debian's RocksDB build turns into an abort. The command ends; nothing is lost.
  if (s.IsNoSpace()) {
    return absl::FailedPreconditionError("this device's disk is full; free some space and retry");
  }
  if (s.IsCorruption())
    return absl::DataLossError(absl::StrCat("vault store is damaged: ", s.ToString()));
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::UnavailableError("the vault is in use by another temoin command");
  }
  return absl::InternalError(s.ToString());
}

absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenStore(const std::string& path, bool create) {
  rocksdb::Options options;
  options.create_if_missing = create;
  options.error_if_exists = create;
  options.paranoid_checks = true;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.info_log = std::make_shared<RocksDbNullLogger>();  // common/rocksdb_logger.h
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  TEMOIN_RETURN_IF_ERROR(FromRocks(s));
  // Info logs an older version left behind: a usage timeline, not part of the store.
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(path, ignored)) {
    const std::string name = entry.path().filename().string();
    if (name == "LOG" || name.rfind("LOG.old.", 0) == 0) std::filesystem::remove(entry, ignored);
  }
  return db;
}

// Salvaging reads past block checksums: a damaged block then yields values that fail
// their own authentication tag and are skipped one by one, instead of hiding every
// record stored after it.
rocksdb::ReadOptions ReadOptionsFor(bool salvaging) {
  rocksdb::ReadOptions options;
  options.verify_checksums = !salvaging;
  return options;
}

struct VaultKeys {
  crypto::Aead aead;
  crypto::SecretBuffer index_key;
};

absl::StatusOr<VaultKeys> KeysFromMaster(const crypto::SecretBuffer& master) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::Aead aead,
                          crypto::Aead::Create(crypto::DeriveSubkey(master, "tmvault_", 1)));
  return VaultKeys{std::move(aead), crypto::DeriveSubkey(master, "tmvault_", 2)};
}

}  // namespace

VaultBatch::~VaultBatch() {
  for (PutOp& op : puts_) crypto::WipeString(op.value);
}

bool VaultExists(const std::string& home) { return PathExists(KeyFilePath(home)); }

Vault::Vault(std::unique_ptr<rocksdb::DB> db, crypto::Aead aead, crypto::SecretBuffer index_key)
    : db_(std::move(db)), aead_(std::move(aead)), index_key_(crypto::MacKey::From(index_key)) {
  db_->GetDbIdentity(store_identity_).PermitUncheckedError();  // empty: never matches a store
}

Vault::~Vault() {
  std::lock_guard lock(prefixes_mu_);
  for (auto& [ns, tag] : prefixes_) crypto::WipeString(tag);
}

namespace {

absl::StatusOr<StoredKeyFile> ReadKeyFile(const std::string& home) {
  if (!VaultExists(home)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no vault in ", home, "; enrol this device first (temoin enroll CODE)"));
  }
  return LoadKeyFile(KeyFilePath(home));
}

// Tries `passphrase` under the unlock limit. The attempt is counted before the
// derivation runs: a process killed during it, or a disk that refuses the write, gives
// no uncounted guess. A missing or damaged count (deleted to reset it) counts as one
// attempt short of the limit; a format-2 key file's own count is taken over once. The
// right passphrase resets the count; a wrong one that reaches the limit wipes the vault.
// None of this writes vault.key.
absl::StatusOr<UnlockedSlot> UnlockCounted(const std::string& home, const StoredKeyFile& stored,
                                           absl::string_view passphrase) {
  const uint32_t limit = stored.file.unlock_limit();
  uint32_t counted = 0;
  if (limit > 0) {
    uint32_t fallback = stored.active_page < 0 ? stored.file.legacy_failed_unlocks() : limit - 1;
    counted = ReadUnlockAttempts(home).value_or(fallback) + 1;
    TEMOIN_RETURN_IF_ERROR(WriteUnlockAttempts(home, counted));
  }
  absl::StatusOr<UnlockedSlot> unlocked = stored.file.Unlock(passphrase);
  if (unlocked.status().code() == absl::StatusCode::kUnauthenticated) {
    if (limit > 0 && counted >= limit) TEMOIN_RETURN_IF_ERROR(WipeVault(home));
    return unlocked.status();
  }
  if (unlocked.ok() && unlocked->kind == SlotKind::kMaster && limit > 0) {
    TEMOIN_RETURN_IF_ERROR(WriteUnlockAttempts(home, 0));
  }
  return unlocked;
}

// Opens a store with the keys of `master`.
absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenOrCreateStore(const std::string& home,
                                                               bool create) {
  return OpenStore(StorePath(home), create);
}

absl::Status WipedMeanwhile() {
  return absl::FailedPreconditionError("the vault was wiped while this command waited for it");
}

// One try at the store for a command that unlocked the key file `key_bytes`: refused once
// that vault is gone or replaced (a wipe, a duress unlock), so that these keys never open
// another vault's store nor recreate files under a wipe. Under the key's shared lock
// (key_file_lock.h). A key rewritten meanwhile (a passphrase changed) is refused too: the
// command is run again.
absl::StatusOr<std::unique_ptr<rocksdb::DB>> TryOpenUnlockedStore(const std::string& home,
                                                                  const std::string& key_bytes) {
  absl::StatusOr<KeyFileLock> key = KeyFileLock::Shared(KeyFilePath(home));
  if (key.status().code() == absl::StatusCode::kNotFound) return WipedMeanwhile();
  if (!key.ok()) return key.status();
  if (key->unlinked()) return WipedMeanwhile();
  absl::StatusOr<std::string> now = key->Contents();
  if (!now.ok()) return now.status();
  const bool same = *now == key_bytes;
  crypto::WipeString(*now);
  if (!same) {
    return absl::FailedPreconditionError(
        "the vault's key changed while this command waited for it; run the command again");
  }
  if (!std::filesystem::exists(StorePath(home) + "/CURRENT")) return WipedMeanwhile();
  return OpenOrCreateStore(home, false);
}

// A `sync --watch` holds the store only while it syncs, so a command that finds it held
// waits rather than failing: the monitor may be about to type a testimony. Tries `open`
// every 100 ms while it answers kUnavailable, up to two minutes, calling `on_busy` once.
absl::StatusOr<std::unique_ptr<rocksdb::DB>> WaitForStore(
    const std::function<absl::StatusOr<std::unique_ptr<rocksdb::DB>>()>& open,
    const std::function<void()>& on_busy) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  for (bool told = false;; told = true) {
    absl::StatusOr<std::unique_ptr<rocksdb::DB>> db = open();
    if (db.ok() || db.status().code() != absl::StatusCode::kUnavailable ||
        std::chrono::steady_clock::now() > give_up) {
      return db;
    }
    if (!told && on_busy) on_busy();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// For a command: each try is guarded (TryOpenUnlockedStore), and the key's lock is let go
// between tries, since a duress unlock holds the store while it waits for that lock.
absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenStoreWhenFree(
    const std::string& home, const std::string& key_bytes, const std::function<void()>& on_busy) {
  return WaitForStore([&] { return TryOpenUnlockedStore(home, key_bytes); }, on_busy);
}

// For a duress unlock, which wipes whatever it finds: it holds what is there (an opener's
// guard would refuse as soon as the key changed, and the wipe then go on under whoever
// holds the store).
absl::StatusOr<std::unique_ptr<rocksdb::DB>> HoldStoreForDuress(
    const std::string& home, const std::function<void()>& on_busy) {
  return WaitForStore([&] { return OpenOrCreateStore(home, false); }, on_busy);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Vault>> Vault::Create(const std::string& home,
                                                     absl::string_view passphrase,
                                                     const VaultOptions& options) {
  if (VaultExists(home)) {
    return absl::AlreadyExistsError(absl::StrCat(home, " already holds a vault"));
  }
  if (passphrase.empty()) return absl::InvalidArgumentError("passphrase is empty");
  TEMOIN_RETURN_IF_ERROR(MakeDirectories(home, 0700));
  KdfCost cost = options.cost.has_value() ? *options.cost : CalibrateKdfCost();
  crypto::SecretBuffer master = crypto::SecretBuffer::Random(32);
  TEMOIN_ASSIGN_OR_RETURN(KeyFile file, KeyFile::Create(cost, passphrase, master));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenOrCreateStore(home, true));
  // Every vault has a cover file, duress or not (cover_file.h).
  TEMOIN_RETURN_IF_ERROR(WriteCoverFile(home, RandomCover()));
  // The key file last: its presence means the vault is complete.
  TEMOIN_RETURN_IF_ERROR(CreateKeyFile(KeyFilePath(home), file));
  TEMOIN_ASSIGN_OR_RETURN(VaultKeys keys, KeysFromMaster(master));
  auto vault =
      absl::WrapUnique(new Vault(std::move(db), std::move(keys.aead), std::move(keys.index_key)));
  vault->home_ = home;
  return vault;
}

namespace {

// The enrolment vault.cover carries for the duress secret `secret`, read before the
// wipe destroys the file. Empty when it opens nothing (duress set by an older version,
// a cover damaged or missing): the duress unlock then builds an empty vault, as before.
v1::CoverEnrolment ReadCoverForDuress(const std::string& home, const crypto::SecretBuffer& secret) {
  absl::StatusOr<std::string> bytes = ReadFileToString(CoverFilePath(home), kCoverFileBytes + 1);
  if (!bytes.ok()) return {};
  absl::StatusOr<v1::CoverEnrolment> enrolment = OpenCover(*bytes, secret);
  crypto::WipeString(*bytes);
  return enrolment.ok() ? std::move(*enrolment) : v1::CoverEnrolment();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Vault>> Vault::Open(const std::string& home,
                                                   absl::string_view passphrase,
                                                   const std::function<void()>& on_busy) {
  TEMOIN_ASSIGN_OR_RETURN(StoredKeyFile stored, ReadKeyFile(home));
  // What was unlocked, to be found again when the store is opened (TryOpenUnlockedStore).
  absl::StatusOr<std::string> key_bytes = ReadFileToString(KeyFilePath(home), 64 << 10);
  if (!key_bytes.ok()) return key_bytes.status();
  absl::Cleanup wipe_key_bytes = [&key_bytes] { crypto::WipeString(*key_bytes); };
  const KeyFile& file = stored.file;
  TEMOIN_ASSIGN_OR_RETURN(UnlockedSlot unlocked, UnlockCounted(home, stored, passphrase));

  if (unlocked.kind == SlotKind::kDuress) {
    // Wipe, then build what Create would have built, reusing the key already derived
    // for this passphrase so that this path costs what a normal unlock costs.
    // Slot 1 seals the duress secret key: it opens the cover, never the master key.
    std::string salt = file.salt(1);
    v1::CoverEnrolment enrolment = ReadCoverForDuress(home, unlocked.key);
    // Held through the wipe, as a normal unlock holds it: a `sync --watch` mid-sync is
    // waited for, not wiped under, and cannot take the store back before the wipe. A
    // store that will not open is wiped all the same: duress must always work.
    absl::StatusOr<std::unique_ptr<rocksdb::DB>> held = HoldStoreForDuress(home, on_busy);
    TEMOIN_RETURN_IF_ERROR(WipeVault(home));
    if (held.ok()) held->reset();
    crypto::SecretBuffer master = crypto::SecretBuffer::Random(32);
    KeyFile fresh = KeyFile::WithRandomSlots(file.cost());
    TEMOIN_RETURN_IF_ERROR(fresh.SealSlotWithDerivedKey(0, salt, unlocked.passphrase_key, master));
    TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenOrCreateStore(home, true));
    TEMOIN_RETURN_IF_ERROR(WriteCoverFile(home, RandomCover()));
    // The enrolment goes in before the key file exists: a crash here leaves no vault
    // (the next command finds none) rather than a half-built one.
    TEMOIN_ASSIGN_OR_RETURN(VaultKeys keys, KeysFromMaster(master));
    auto vault =
        absl::WrapUnique(new Vault(std::move(db), std::move(keys.aead), std::move(keys.index_key)));
    vault->home_ = home;
    VaultBatch batch;
    for (v1::CoverEntry& entry : *enrolment.mutable_entries()) {
      if (entry.ns() == kDuressNs) continue;  // never carried; refused if a cover had one
      batch.Put(entry.ns(), entry.name(), entry.value());
      crypto::WipeString(*entry.mutable_value());
    }
    if (enrolment.entries_size() > 0) batch.Put(kDuressNs, "signal", "1");
    TEMOIN_RETURN_IF_ERROR(vault->Commit(batch));
    TEMOIN_RETURN_IF_ERROR(CreateKeyFile(KeyFilePath(home), fresh));
    return vault;
  }

  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db,
                          OpenStoreWhenFree(home, *key_bytes, on_busy));
  TEMOIN_ASSIGN_OR_RETURN(VaultKeys keys, KeysFromMaster(unlocked.key));
  auto vault =
      absl::WrapUnique(new Vault(std::move(db), std::move(keys.aead), std::move(keys.index_key)));
  vault->home_ = home;
  return vault;
}

namespace {

// Unlocks with the real passphrase only (a duress passphrase is refused here, without
// wiping: these are settings changes made by the owner).
// Counted like any unlock: these commands must not be a way around the unlock limit.
absl::StatusOr<std::pair<StoredKeyFile, UnlockedSlot>> UnlockForChange(const std::string& home,
                                                                       absl::string_view current) {
  TEMOIN_ASSIGN_OR_RETURN(StoredKeyFile stored, ReadKeyFile(home));
  TEMOIN_ASSIGN_OR_RETURN(UnlockedSlot unlocked, UnlockCounted(home, stored, current));
  if (unlocked.kind != SlotKind::kMaster) return absl::UnauthenticatedError("wrong passphrase");
  return std::make_pair(std::move(stored), std::move(unlocked));
}

// Every change to vault.key goes through here: in place, same inode (key_file_store.h),
// but for a format-2 file, which the first change renames into the paged format.
absl::Status Rewrite(const std::string& home, const StoredKeyFile& stored, const KeyFile& next) {
  return UpdateKeyFile(KeyFilePath(home), stored, next);
}

}  // namespace

absl::Status Vault::ChangePassphrase(const std::string& home, absl::string_view current,
                                     absl::string_view replacement) {
  if (replacement.empty()) return absl::InvalidArgumentError("new passphrase is empty");
  TEMOIN_ASSIGN_OR_RETURN(auto opened, UnlockForChange(home, current));
  auto& [stored, unlocked] = opened;
  KeyFile next = stored.file;
  TEMOIN_RETURN_IF_ERROR(next.SealSlot(0, replacement, unlocked.key));
  return Rewrite(home, stored, next);
}

absl::Status Vault::SetDuressPassphrase(const std::string& home, absl::string_view current,
                                        absl::string_view duress, const CoverSelection& cover) {
  if (duress.empty()) return absl::InvalidArgumentError("duress passphrase is empty");
  if (duress == current) {
    return absl::InvalidArgumentError("the duress passphrase must differ from the passphrase");
  }
  TEMOIN_ASSIGN_OR_RETURN(auto opened, UnlockForChange(home, current));
  auto& [stored, unlocked] = opened;
  crypto::BoxKeyPair pair = crypto::BoxKeyPair::Generate();
  // The public half under the master key first, then the cover sealed to it, then the
  // slot: a crash before the slot leaves the old duress passphrase (if any) and a cover
  // it cannot open, which a duress unlock takes as an empty enrolment.
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenOrCreateStore(home, false));
  TEMOIN_ASSIGN_OR_RETURN(VaultKeys keys, KeysFromMaster(unlocked.key));
  Vault vault(std::move(db), std::move(keys.aead), std::move(keys.index_key));
  vault.home_ = home;
  TEMOIN_RETURN_IF_ERROR(vault.Put(kDuressNs, "pk", pair.public_key()));
  TEMOIN_RETURN_IF_ERROR(vault.RefreshCover(cover));
  KeyFile next = stored.file;
  TEMOIN_RETURN_IF_ERROR(next.SealSlot(1, duress, pair.secret_key()));
  return Rewrite(home, stored, next);
}

absl::Status Vault::RefreshCover(const CoverSelection& selection) {
  if (home_.empty()) return absl::OkStatus();
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> public_key, Get(kDuressNs, "pk"));
  if (!public_key.has_value()) return WriteCoverFile(home_, RandomCover());
  v1::CoverEnrolment enrolment;
  size_t size = 0;
  for (const std::string& ns : selection.namespaces) {
    TEMOIN_RETURN_IF_ERROR(Scan(ns, [&](absl::string_view name, absl::string_view value) {
      if (selection.keep && !selection.keep(ns, name, value)) return true;
      // Namespaces come in the caller's order of importance: what does not fit is
      // left out (old receipts, in practice) rather than failing the sync.
      size_t entry_size = ns.size() + name.size() + value.size() + 16;
      if (size + entry_size > CoverCapacity()) return true;
      size += entry_size;
      v1::CoverEntry* entry = enrolment.add_entries();
      entry->set_ns(ns);
      entry->set_name(std::string(name));
      entry->set_value(std::string(value));
      return true;
    }));
  }
  absl::StatusOr<std::string> sealed = SealCover(enrolment, *public_key);
  for (v1::CoverEntry& entry : *enrolment.mutable_entries()) {
    crypto::WipeString(*entry.mutable_value());
  }
  TEMOIN_RETURN_IF_ERROR(sealed.status());
  return WriteCoverFile(home_, *sealed);
}

absl::StatusOr<bool> Vault::UnderDuress() {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> signal, Get(kDuressNs, "signal"));
  return signal.has_value();
}

absl::Status Vault::SetUnlockLimit(const std::string& home, absl::string_view current,
                                   uint32_t limit) {
  TEMOIN_ASSIGN_OR_RETURN(auto opened, UnlockForChange(home, current));
  auto& [stored, unlocked] = opened;
  // The count first: a limit must never meet a count left over from before it.
  TEMOIN_RETURN_IF_ERROR(WriteUnlockAttempts(home, 0));
  KeyFile next = stored.file;
  next.set_unlock_limit(limit);
  return Rewrite(home, stored, next);
}

std::string Vault::NamespacePrefix(absl::string_view ns) const {
  std::lock_guard lock(prefixes_mu_);
  auto it = prefixes_.find(ns);
  if (it == prefixes_.end()) {
    // Computed before it goes in: a tag that failed half-way must not stay empty.
    std::string tag = index_key_.Mac(absl::StrCat("ns/", ns)).substr(0, kNamespaceTagBytes);
    it = prefixes_.emplace(std::string(ns), std::move(tag)).first;
  }
  return it->second;
}

std::string Vault::StoreKey(absl::string_view ns, absl::string_view name) const {
  return absl::StrCat(
      NamespacePrefix(ns),
      index_key_.Mac(absl::StrCat("name/", ns.size(), "/", ns, name)).substr(0, kNameTagBytes));
}

std::string Vault::Seal(absl::string_view store_key, absl::string_view name,
                        absl::string_view value) const {
  std::string plain = absl::StrCat(std::to_string(name.size()), ":", name, value);
  std::string sealed = aead_.Seal(plain, store_key);
  crypto::WipeString(plain);
  return sealed;
}

namespace {

// Splits "len:name" + value. false when malformed.
bool SplitNameValue(absl::string_view plain, absl::string_view* name, absl::string_view* value) {
  size_t colon = plain.find(':');
  if (colon == absl::string_view::npos || colon > 8) return false;
  size_t len = 0;
  for (char c : plain.substr(0, colon)) {
    if (c < '0' || c > '9') return false;
    len = len * 10 + static_cast<size_t>(c - '0');
  }
  if (plain.size() - colon - 1 < len) return false;
  *name = plain.substr(colon + 1, len);
  *value = plain.substr(colon + 1 + len);
  return true;
}

}  // namespace

absl::Status Vault::Held() const {
  if (db_ != nullptr) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "the vault's store is released (another command may hold it)");
}

void Vault::Release() { db_.reset(); }

absl::Status Vault::Reacquire() {
  if (db_ != nullptr) return absl::OkStatus();
  if (home_.empty()) return absl::FailedPreconditionError("a salvaged copy cannot be reopened");
  // Held from the look at the key to the end of the open, so that a wipe is either not
  // begun or past the key (key_file_lock.h).
  absl::StatusOr<KeyFileLock> key = KeyFileLock::Shared(KeyFilePath(home_));
  if (key.status().code() == absl::StatusCode::kNotFound) {
    return absl::FailedPreconditionError("the vault's key is gone");
  }
  if (!key.ok()) return key.status();
  if (key->unlinked()) return absl::FailedPreconditionError("the vault was wiped");
  TEMOIN_RETURN_IF_ERROR(CheckStoreIsTheOneOpened());
  // RocksDB's open makes the directory and its LOCK file before it finds no store there:
  // under a wipe that would leave files the wipe cannot remove.
  if (!std::filesystem::exists(StorePath(home_) + "/CURRENT")) {
    return absl::FailedPreconditionError("the vault's store is gone");
  }
  TEMOIN_ASSIGN_OR_RETURN(db_, OpenOrCreateStore(home_, false));
  return absl::OkStatus();
}

namespace {

// IDENTITY is the random id RocksDB writes when it creates a store (and again only if the
// file goes missing); GetDbIdentity drops a final newline, which older versions wrote.
absl::StatusOr<std::string> ReadStoreIdentity(const std::string& home) {
  absl::StatusOr<std::string> identity = ReadFileToString(StorePath(home) + "/IDENTITY", 4096);
  if (identity.ok() && !identity->empty() && identity->back() == '\n') identity->pop_back();
  return identity;
}

}  // namespace

absl::Status Vault::CheckStoreIsTheOneOpened() const {
  absl::StatusOr<std::string> identity = ReadStoreIdentity(home_);
  if (identity.status().code() == absl::StatusCode::kNotFound) {
    return absl::FailedPreconditionError("the vault's store is gone");
  }
  if (!identity.ok()) return identity.status();  // a failing card is not a wipe
  if (*identity != store_identity_) return absl::FailedPreconditionError("the vault was replaced");
  return absl::OkStatus();
}

bool Vault::WipedOrReplaced() const {
  if (home_.empty()) return false;
  struct stat st {};
  if (::stat(KeyFilePath(home_).c_str(), &st) != 0 && errno == ENOENT) return true;
  std::error_code error;
  if (!std::filesystem::exists(StorePath(home_) + "/IDENTITY", error)) return !error;
  absl::StatusOr<std::string> identity = ReadStoreIdentity(home_);
  return identity.ok() && *identity != store_identity_;
}

absl::StatusOr<std::optional<std::string>> Vault::Get(absl::string_view ns,
                                                      absl::string_view name) {
  TEMOIN_RETURN_IF_ERROR(Held());
  std::string key = StoreKey(ns, name);
  std::string sealed;
  rocksdb::Status s = db_->Get(ReadOptionsFor(salvaging_), key, &sealed);
  if (s.IsNotFound()) return std::nullopt;
  TEMOIN_RETURN_IF_ERROR(FromRocks(s));
  absl::StatusOr<std::string> plain = aead_.Open(sealed, key);
  if (!plain.ok()) return absl::DataLossError("vault value failed authentication");
  absl::string_view stored_name, value;
  if (!SplitNameValue(*plain, &stored_name, &value) || stored_name != name) {
    crypto::WipeString(*plain);
    return absl::DataLossError("vault value is damaged");
  }
  std::string out(value);
  crypto::WipeString(*plain);
  return out;
}

absl::Status Vault::Put(absl::string_view ns, absl::string_view name, absl::string_view value) {
  VaultBatch batch;
  batch.Put(ns, name, value);
  return Commit(batch);
}

absl::Status Vault::Commit(VaultBatch& batch) {
  TEMOIN_RETURN_IF_ERROR(Held());
  rocksdb::WriteBatch rocks_batch;
  for (const VaultBatch::PutOp& op : batch.puts_) {
    std::string key = StoreKey(op.ns, op.name);
    rocks_batch.Put(key, Seal(key, op.name, op.value));
  }
  for (const VaultBatch::DeleteOp& op : batch.deletes_) {
    rocks_batch.Delete(StoreKey(op.ns, op.name));
  }
  rocksdb::WriteOptions options;
  options.sync = true;  // what the monitor saw as saved survives power loss
  return FromRocks(db_->Write(options, &rocks_batch));
}

absl::Status Vault::Scan(
    absl::string_view ns,
    const std::function<bool(absl::string_view name, absl::string_view value)>& visit) {
  TEMOIN_RETURN_IF_ERROR(Held());
  std::string prefix = NamespacePrefix(ns);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ReadOptionsFor(salvaging_)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string key = it->key().ToString();
    absl::StatusOr<std::string> plain =
        aead_.Open(absl::string_view(it->value().data(), it->value().size()), key);
    absl::string_view name, value;
    bool intact = plain.ok() && SplitNameValue(*plain, &name, &value);
    if (!intact && salvaging_) {
      // Damaged bytes never reach the caller: a value that fails its tag is skipped.
      ++skipped_values_;
      if (plain.ok()) crypto::WipeString(*plain);
      continue;
    }
    if (!plain.ok()) return absl::DataLossError("vault value failed authentication");
    if (!intact) {
      crypto::WipeString(*plain);
      return absl::DataLossError("vault value is damaged");
    }
    bool more = visit(name, value);
    crypto::WipeString(*plain);
    if (!more) break;
  }
  if (salvaging_ && !it->status().ok()) {
    ++skipped_values_;  // the rest of this namespace is unreadable; keep what was read
    return absl::OkStatus();
  }
  return FromRocks(it->status());
}

namespace {

// The table files of the store, for the report: RocksDB's own list, not the directory.
uint64_t CountTableFiles(rocksdb::DB& db) {
  std::vector<rocksdb::LiveFileMetaData> files;
  db.GetLiveFilesMetaData(&files);
  return files.size();
}

}  // namespace

absl::StatusOr<Vault::CheckReport> Vault::Check() {
  TEMOIN_RETURN_IF_ERROR(Held());
  CheckReport report;
  report.table_files = CountTableFiles(*db_);
  rocksdb::ReadOptions read;
  read.verify_checksums = true;
  read.fill_cache = false;  // one pass over everything; keep the cache for real reads
  // Every block of every live table file, index and footer included; the message names
  // the file.
  rocksdb::Status blocks = db_->VerifyChecksum(read);
  if (!blocks.ok()) {
    if (blocks.IsCorruption() || blocks.IsIOError()) {
      return absl::DataLossError(
          absl::StrCat("vault store is damaged (a table file): ", blocks.ToString()));
    }
    return FromRocks(blocks);
  }
  // Then every value, the memtable's (from the write-ahead log) included. The stored
  // key is a keyed hash and reveals nothing, so it may name the damaged value.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string key = it->key().ToString();
    absl::StatusOr<std::string> plain =
        aead_.Open(absl::string_view(it->value().data(), it->value().size()), key);
    absl::string_view name, value;
    bool intact = plain.ok() && SplitNameValue(*plain, &name, &value);
    if (plain.ok()) crypto::WipeString(*plain);
    if (!intact) {
      return absl::DataLossError(
          absl::StrCat("vault store is damaged: value ", report.values + 1, " (stored key ",
                       absl::BytesToHexString(absl::string_view(key).substr(0, 8)), "…) ",
                       plain.ok() ? "is malformed" : "failed authentication"));
    }
    ++report.values;
  }
  if (!it->status().ok()) {
    rocksdb::Status s = it->status();
    if (s.IsIOError()) {
      return absl::DataLossError(absl::StrCat("vault store is damaged: ", s.ToString()));
    }
    return FromRocks(s);
  }
  return report;
}

absl::StatusOr<std::unique_ptr<Vault>> Vault::OpenSalvaged(const std::string& home,
                                                           absl::string_view passphrase,
                                                           const std::string& scratch_dir) {
  TEMOIN_ASSIGN_OR_RETURN(StoredKeyFile stored, ReadKeyFile(home));
  TEMOIN_ASSIGN_OR_RETURN(UnlockedSlot unlocked, UnlockCounted(home, stored, passphrase));
  if (unlocked.kind == SlotKind::kDuress) {
    // Behave exactly as an unlock would: wipe and present the fresh, empty vault.
    return Open(home, passphrase);
  }
  std::error_code error;
  std::filesystem::remove_all(scratch_dir, error);
  std::filesystem::create_directories(scratch_dir, error);
  std::filesystem::copy(StorePath(home), scratch_dir + "/store",
                        std::filesystem::copy_options::recursive, error);
  if (error) return absl::DataLossError("cannot copy the vault store for recovery");
  rocksdb::Options options;
  options.info_log = std::make_shared<RocksDbNullLogger>();
  options.paranoid_checks = false;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, scratch_dir + "/store", &raw);
  if (!s.ok()) {
    // A damaged MANIFEST or table index: let RocksDB rebuild what it can from the files.
    rocksdb::RepairDB(scratch_dir + "/store", options).PermitUncheckedError();
    s = rocksdb::DB::Open(options, scratch_dir + "/store", &raw);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return absl::DataLossError("the vault store cannot be opened even for recovery");
  TEMOIN_ASSIGN_OR_RETURN(VaultKeys keys, KeysFromMaster(unlocked.key));
  std::unique_ptr<Vault> vault(
      new Vault(std::move(db), std::move(keys.aead), std::move(keys.index_key)));
  vault->salvaging_ = true;
  return vault;
}

}  // namespace temoin::client
