#include "client/vault/key_file.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "crypto/keys.h"

namespace temoin::client {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kKeyBytes = 32;
// Aead::Seal of 32 bytes: 24-byte nonce + 32 + 16-byte tag.
constexpr size_t kSealedKeyBytes = 24 + kKeyBytes + 16;

absl::StatusOr<crypto::SecretBuffer> Derive(absl::string_view passphrase, const KdfCost& cost,
                                            const std::string& salt) {
  return crypto::DeriveKeyFromPassphrase(
      passphrase, {.opslimit = cost.opslimit, .memlimit = cost.memlimit, .salt = salt});
}

// Two derivations at once need two cores and twice the memory; keep the pair within a
// quarter of RAM (ChooseKdfCost keeps one within a quarter) so a phone is not pushed
// into swap or the OOM killer by its own unlock.
bool DeriveSlotsInParallel(const KdfCost& cost) {
  if (std::thread::hardware_concurrency() < 2) return false;
  uint64_t ram = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                 static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  return 2 * cost.memlimit <= ram / 4;
}

}  // namespace

KdfCost ChooseKdfCost(double floor_seconds, uint64_t ram_bytes, double target_seconds) {
  KdfCost best = kKdfFloor;
  if (floor_seconds <= 0) return best;
  auto predicted = [&](uint64_t m, uint64_t t) {
    return 2 * floor_seconds * (static_cast<double>(m) / kKdfFloor.memlimit) *
           (static_cast<double>(t) / kKdfFloor.opslimit);
  };
  // Memory first (it is what GPU and ASIC guessers lack), then passes.
  for (uint64_t mib : {128, 256, 512, 1024}) {
    uint64_t m = mib << 20;
    if (m > ram_bytes / 4 || predicted(m, kKdfFloor.opslimit) > target_seconds) break;
    best.memlimit = m;
  }
  for (uint64_t t = kKdfFloor.opslimit + 1; t <= 10; ++t) {
    if (predicted(best.memlimit, t) > target_seconds) break;
    best.opslimit = t;
  }
  return best;
}

KdfCost CalibrateKdfCost() {
  double target = 1.5;
  if (const char* env = std::getenv("TEMOIN_VAULT_UNLOCK_MS"); env != nullptr) {
    target = std::atof(env) / 1000.0;
  }
  auto start = std::chrono::steady_clock::now();
  Derive("calibration", kKdfFloor, std::string(kSaltBytes, '\0')).status().IgnoreError();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t ram = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                 static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  return ChooseKdfCost(seconds, ram, target);
}

KeyFile KeyFile::WithRandomSlots(const KdfCost& cost) {
  KeyFile key_file;
  key_file.file_.set_format_version(2);
  key_file.file_.set_opslimit(cost.opslimit);
  key_file.file_.set_memlimit(cost.memlimit);
  key_file.file_.add_slots();
  key_file.file_.add_slots();
  key_file.RandomizeSlot(0);
  key_file.RandomizeSlot(1);
  return key_file;
}

absl::StatusOr<KeyFile> KeyFile::Create(const KdfCost& cost, absl::string_view passphrase,
                                        const crypto::SecretBuffer& master) {
  KeyFile key_file = WithRandomSlots(cost);
  TEMOIN_RETURN_IF_ERROR(key_file.SealSlot(0, passphrase, master));
  return key_file;
}

absl::StatusOr<KeyFile> KeyFile::Parse(absl::string_view bytes) {
  KeyFile key_file;
  v1::KeyFile& file = key_file.file_;
  if (!file.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      file.format_version() != 2 || file.slots_size() != 2) {
    return absl::DataLossError("vault key file is damaged");
  }
  for (const v1::KeySlot& slot : file.slots()) {
    if (slot.salt().size() != kSaltBytes || slot.sealed_key().size() != kSealedKeyBytes) {
      return absl::DataLossError("vault key file is damaged");
    }
  }
  // An attacker who edits the header to a cheap setting must get an error, not a fast
  // guess.
  if (file.opslimit() < kKdfFloor.opslimit || file.memlimit() < kKdfFloor.memlimit) {
    return absl::DataLossError("vault key file asks for a key-derivation cost below the floor");
  }
  key_file.legacy_failed_unlocks_ = file.failed_unlocks();
  file.clear_failed_unlocks();
  return key_file;
}

std::string KeyFile::SlotAd(int slot, const std::string& salt) const {
  return absl::StrCat("temoin/vault-key/v2|", file_.opslimit(), "|", file_.memlimit(), "|", slot,
                      "|", salt);
}

void KeyFile::RandomizeSlot(int slot) {
  v1::KeySlot* s = file_.mutable_slots(slot);
  s->set_salt(crypto::RandomBytes(kSaltBytes));
  s->set_sealed_key(crypto::RandomBytes(kSealedKeyBytes));
}

absl::Status KeyFile::SealSlot(int slot, absl::string_view passphrase,
                               const crypto::SecretBuffer& key) {
  std::string salt = crypto::RandomBytes(kSaltBytes);
  TEMOIN_ASSIGN_OR_RETURN(crypto::SecretBuffer derived, Derive(passphrase, cost(), salt));
  return SealSlotWithDerivedKey(slot, salt, derived, key);
}

absl::Status KeyFile::SealSlotWithDerivedKey(int slot, const std::string& salt,
                                             const crypto::SecretBuffer& passphrase_key,
                                             const crypto::SecretBuffer& key) {
  TEMOIN_ASSIGN_OR_RETURN(
      crypto::Aead aead,
      crypto::Aead::Create(crypto::SecretBuffer::CopyOf(passphrase_key.ExposeSecret())));
  v1::KeySlot* s = file_.mutable_slots(slot);
  s->set_salt(salt);
  s->set_sealed_key(aead.Seal(key.ExposeSecret(), SlotAd(slot, salt)));
  return absl::OkStatus();
}

absl::StatusOr<UnlockedSlot> KeyFile::Unlock(absl::string_view passphrase) const {
  // Both slots, always, whatever the first gives: equal work on every path. On two or
  // more cores with memory to spare they run side by side, so an unlock costs about one
  // derivation of wall time while a guesser still pays two; whether they do depends
  // only on the cost and the machine, never on which slot matches.
  std::array<std::optional<absl::StatusOr<crypto::SecretBuffer>>, 2> derived;
  auto derive = [&](int slot) {
    derived[slot] = Derive(passphrase, cost(), file_.slots(slot).salt());
  };
  std::thread duress_slot;
  if (DeriveSlotsInParallel(cost())) {
    try {
      duress_slot = std::thread(derive, 1);
    } catch (const std::system_error&) {
      // No thread to be had: one after the other, as on a single core.
    }
  }
  derive(0);
  if (duress_slot.joinable()) {
    duress_slot.join();
  } else {
    derive(1);
  }
  std::optional<UnlockedSlot> opened;
  for (int slot = 0; slot < 2; ++slot) {
    const v1::KeySlot& s = file_.slots(slot);
    TEMOIN_RETURN_IF_ERROR(derived[slot]->status());
    crypto::SecretBuffer& slot_key = **derived[slot];
    TEMOIN_ASSIGN_OR_RETURN(
        crypto::Aead aead,
        crypto::Aead::Create(crypto::SecretBuffer::CopyOf(slot_key.ExposeSecret())));
    absl::StatusOr<std::string> key = aead.Open(s.sealed_key(), SlotAd(slot, s.salt()));
    if (key.ok() && !opened.has_value()) {
      opened = UnlockedSlot{slot == 0 ? SlotKind::kMaster : SlotKind::kDuress,
                            crypto::SecretBuffer::CopyOf(*key), std::move(slot_key)};
      crypto::WipeString(*key);
    }
  }
  if (!opened.has_value()) return absl::UnauthenticatedError("wrong passphrase");
  return std::move(*opened);
}

}  // namespace temoin::client
