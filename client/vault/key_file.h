#ifndef TEMOIN_CLIENT_VAULT_KEY_FILE_H_
#define TEMOIN_CLIENT_VAULT_KEY_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_buffer.h"
#include "temoin/v1/client_store.pb.h"

// The vault's key file (see KeyFile in client_store.proto): two same-sized slots, each a
// 32-byte key sealed under Argon2id(passphrase, salt). Slot 0 holds the vault master
// key; slot 1 is random until a duress passphrase is set. An unlock always derives for
// both slots, so neither the file nor the timing tells whether duress is set.
namespace temoin::client {

struct KdfCost {
  uint64_t opslimit = 3;
  uint64_t memlimit = 64ull << 20;
};

// The floor (RFC 9106's low-memory choice): a key file asking for less is refused.
inline constexpr KdfCost kKdfFloor{3, 64ull << 20};

// The largest m ∈ {64, 128, 256, 512, 1024} MiB (at most a quarter of `ram_bytes`) at
// t=3, then the largest t ≤ 10 at that m, whose unlock (two derivations) is predicted
// to take at most `target_seconds`, given that one derivation at the floor took
// `floor_seconds` (Argon2id's time grows linearly in m·t). Never below the floor.
KdfCost ChooseKdfCost(double floor_seconds, uint64_t ram_bytes, double target_seconds);

// Measures one derivation at the floor on this device and applies ChooseKdfCost with
// the target from TEMOIN_VAULT_UNLOCK_MS (default 1500 ms; tests set it low to stay at
// the floor).
KdfCost CalibrateKdfCost();

enum class SlotKind { kMaster, kDuress };

struct UnlockedSlot {
  SlotKind kind;
  crypto::SecretBuffer key;             // the key sealed in the slot that opened
  crypto::SecretBuffer passphrase_key;  // Argon2id output for that slot's salt
};

class KeyFile {
 public:
  // A new file: `master` in slot 0 under `passphrase`, random bytes in slot 1.
  static absl::StatusOr<KeyFile> Create(const KdfCost& cost, absl::string_view passphrase,
                                        const crypto::SecretBuffer& master);
  // Both slots random (no key sealed yet; no Argon2id run).
  static KeyFile WithRandomSlots(const KdfCost& cost);
  // `bytes` untrusted. kDataLoss "vault key file is damaged" when malformed, or
  // "... asks for a key-derivation cost below the floor" when weaker than kKdfFloor.
  static absl::StatusOr<KeyFile> Parse(absl::string_view bytes);

  std::string Serialize() const { return file_.SerializeAsString(); }

  // Derives a key for both slots and opens whichever `passphrase` fits.
  // kUnauthenticated "wrong passphrase" when neither does.
  absl::StatusOr<UnlockedSlot> Unlock(absl::string_view passphrase) const;

  // Re-seals `key` into `slot` under `passphrase` with a fresh salt.
  absl::Status SealSlot(int slot, absl::string_view passphrase, const crypto::SecretBuffer& key);
  // Seals `key` into `slot` with an already derived key for `salt` (no second Argon2id:
  // the duress path must cost what a normal unlock costs).
  absl::Status SealSlotWithDerivedKey(int slot, const std::string& salt,
                                      const crypto::SecretBuffer& passphrase_key,
                                      const crypto::SecretBuffer& key);
  const std::string& salt(int slot) const { return file_.slots(slot).salt(); }
  // Fills `slot` with random bytes of the same shape.
  void RandomizeSlot(int slot);

  KdfCost cost() const { return {file_.opslimit(), file_.memlimit()}; }
  // The wrong-passphrase count that format-2 key files kept inside them; 0 otherwise.
  // It is never written back: the count now lives outside the key file (vault.cc).
  uint32_t legacy_failed_unlocks() const { return legacy_failed_unlocks_; }
  uint32_t unlock_limit() const { return file_.unlock_limit(); }
  void set_unlock_limit(uint32_t n) { file_.set_unlock_limit(n); }

 private:
  KeyFile() = default;
  std::string SlotAd(int slot, const std::string& salt) const;
  v1::KeyFile file_;
  uint32_t legacy_failed_unlocks_ = 0;
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_VAULT_KEY_FILE_H_
