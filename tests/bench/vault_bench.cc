// Vault benchmarks (issue 5): unlock time at the Argon2id cost this device calibrates
// to, and how fast testimonies are sealed into the outbox, per core, each against a
// baseline measured in the same run (one Argon2id derivation at the floor; libsodium's
// crypto_box_seal). Not a test; run by hand:
//   taskset -c 0 build/tests/bench/vault_bench [--records N]
#include <sodium.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "client/core/device_state.h"
#include "client/core/drafts.h"
#include "client/core/outbox.h"
#include "client/vault/key_file.h"
#include "client/vault/vault.h"
#include "common/vocabulary.h"
#include "crypto/auth.h"
#include "crypto/keys.h"
#include "crypto/project_keys.h"
#include "crypto/sodium_init.h"

namespace temoin::client {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A monitor's vault with a signed project key, as enrolment leaves it.
std::unique_ptr<Vault> MonitorVault(const std::string& home, const KdfCost& cost) {
  auto vault = Vault::Create(home, "bench passphrase", VaultOptions{cost});
  if (!vault.ok()) std::abort();
  crypto::SigningKey org = crypto::SigningKey::Generate();
  crypto::SigningKey device = crypto::SigningKey::Generate();
  crypto::BoxKeyPair box = crypto::BoxKeyPair::Generate();
  v1::ProjectKeyBody body;
  body.set_project_id(crypto::RandomBytes(16));
  body.set_project_name("bench");
  body.set_epoch(1);
  body.set_public_key(crypto::BoxKeyPair::Generate().public_key());
  v1::Profile profile;
  profile.set_device_id(crypto::DeviceIdFromKeys(device.public_key(), box.public_key()));
  profile.set_role(v1::ROLE_MONITOR);
  profile.set_project_id(body.project_id());
  profile.set_project("bench");
  profile.set_org_public_key(org.public_key());
  profile.set_signing_secret_key(std::string(device.secret_key().ExposeSecret()));
  profile.set_box_secret_key(std::string(box.secret_key().ExposeSecret()));
  profile.set_next_seq(1);
  VaultBatch batch;
  PutProfile(batch, profile);
  batch.Put(kSettingsNs, "vocabulary", DefaultVocabulary()->SerializeAsString());
  if (!(*vault)->Commit(batch).ok()) std::abort();
  if (!StoreSignedProjectKey(**vault, crypto::SignProjectKey(body, org), org.public_key()).ok()) {
    std::abort();
  }
  return std::move(*vault);
}

v1::Testimony KilobyteTestimony(int i) {
  static const char* kWords[] = {"village", "marché", "soldats", "nuit", "motos",  "puits",
                                 "the",     "road",   "convoy",  "fled", "school", "harvest"};
  v1::Testimony t;
  std::string narrative;
  uint32_t x = static_cast<uint32_t>(i) * 2654435761u + 1;
  while (narrative.size() < 1000) {
    x = x * 1103515245u + 12345u;
    narrative += kWords[(x >> 16) % 12];
    narrative += ' ';
  }
  t.set_narrative(narrative);
  t.mutable_incident()->set_region("gao");
  t.add_acts()->set_type("looting");
  return t;
}

int Main(int argc, char** argv) {
  int records = 2000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--records") records = std::atoi(argv[i + 1]);
  }
  if (!crypto::InitializeCrypto().ok()) return 1;
  fs::path root = fs::temp_directory_path() / ("vault_bench_" + std::to_string(getpid()));
  fs::remove_all(root);

  // Baseline 1: one Argon2id derivation at the floor.
  auto start = Clock::now();
  crypto::DeriveKeyFromPassphrase(
      "x", {.opslimit = 3, .memlimit = 64ull << 20, .salt = std::string(16, '\0')})
      .status()
      .IgnoreError();
  double floor_seconds = Seconds(start);

  KdfCost cost = CalibrateKdfCost();
  auto vault = MonitorVault((root / "calibrated").string(), cost);
  vault.reset();
  std::vector<double> unlocks;
  for (int i = 0; i < 3; ++i) {
    start = Clock::now();
    if (!Vault::Open((root / "calibrated").string(), "bench passphrase").ok()) return 1;
    unlocks.push_back(Seconds(start));
  }
  std::sort(unlocks.begin(), unlocks.end());

  // Baseline 2: crypto_box_seal of 48 bytes (what wrapping a data key costs).
  unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
  crypto_box_keypair(pk, sk);
  unsigned char message[48] = {0}, sealed[48 + crypto_box_SEALBYTES];
  int box_rounds = 0;
  start = Clock::now();
  while (Seconds(start) < 1.0) {
    crypto_box_seal(sealed, message, sizeof message, pk);
    ++box_rounds;
  }
  double box_rate = box_rounds / Seconds(start);

  // Seal rate: SealTestimonies in batches of 100 (one durable commit each).
  auto floor_vault = MonitorVault((root / "floor").string(), kKdfFloor);
  std::vector<v1::Testimony> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(KilobyteTestimony(i));
  start = Clock::now();
  for (int done = 0; done < records; done += 100) {
    if (!SealTestimonies(*floor_vault, batch).ok()) return 1;
  }
  double seal_rate = records / Seconds(start);
  // One testimony per commit: what a monitor saving one at a time sees.
  start = Clock::now();
  for (int i = 0; i < 200; ++i) {
    if (!SealTestimonies(*floor_vault, {batch[i % 100]}).ok()) return 1;
  }
  double single_rate = 200 / Seconds(start);
  // Draft saves: what a monitor's "save" costs while still writing (one commit each).
  start = Clock::now();
  for (int i = 0; i < 500; ++i) {
    if (!SaveDraft(*floor_vault, batch[i % 100]).ok()) return 1;
  }
  double draft_rate = 500 / Seconds(start);

  std::printf("vault_bench (%s)\n", root.c_str());
  std::printf("  Argon2id floor derivation (t=3, 64 MiB)   %8.3f s\n", floor_seconds);
  std::printf("  calibrated cost                            t=%llu, %llu MiB\n",
              static_cast<unsigned long long>(cost.opslimit),
              static_cast<unsigned long long>(cost.memlimit >> 20));
  std::printf("  unlock at calibrated cost (median of 3)    %8.3f s  (%.1f x floor derivation)\n",
              unlocks[1], unlocks[1] / floor_seconds);
  std::printf("  crypto_box_seal rate                       %8.0f /s\n", box_rate);
  std::printf("  seal into outbox, 100 per commit           %8.0f /s  (%.3f x crypto_box_seal)\n",
              seal_rate, seal_rate / box_rate);
  std::printf("  seal into outbox, 1 per commit (fsync)     %8.0f /s  (%.3f x crypto_box_seal)\n",
              single_rate, single_rate / box_rate);
  std::printf("  save a draft, 1 per commit (fsync)         %8.0f /s  (%.3f x crypto_box_seal)\n",
              draft_rate, draft_rate / box_rate);
  fs::remove_all(root);
  return 0;
}

}  // namespace
}  // namespace temoin::client

int main(int argc, char** argv) { return temoin::client::Main(argc, argv); }
