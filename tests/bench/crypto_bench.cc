// Cost of sealing and opening one record against the primitives it is made of, in one
// binary so that the ratios hold on whatever machine runs it. Run pinned to one core
// (taskset -c 0); the numbers are per call on that core.
//
// A record seal is roughly: zstd + XChaCha20-Poly1305 over ~1 KB, one crypto_box_seal
// per recipient, BLAKE2b of the envelope, one Ed25519 signature. An open is one
// crypto_box_seal_open, the AEAD and zstd. VerifyRecord adds one Ed25519 verify.

#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstdlib>
#include <string>

#include "crypto/envelope.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"

namespace temoin::crypto {
namespace {

// About 1 KB serialized: a narrative of a few paragraphs plus structured fields.
// Synthetic text.
v1::Testimony OneKilobyteTestimony() {
  v1::Testimony t;
  std::string narrative;
  for (int i = 0; narrative.size() < 820; ++i) {
    narrative += "Synthetic witness statement, paragraph " + std::to_string(i) +
                 ": armed men arrived at dawn, goods at the market were burned. ";
  }
  t.set_narrative(narrative);
  t.set_language("fr");
  t.mutable_incident()->set_date("2026-03-14");
  t.mutable_incident()->set_region("ML-6");
  t.mutable_incident()->set_locality("Village X (synthetic)");
  for (int i = 0; i < 3; ++i) {
    v1::Victim* victim = t.add_victims();
    victim->set_name("Synthetic Person " + std::to_string(i));
    victim->set_sex("f");
    victim->set_age(20 + i);
  }
  v1::Act* act = t.add_acts();
  act->set_type("abduction");
  act->set_count(3);
  t.mutable_victim_counts()->set_total(3);
  t.mutable_source()->set_type("direct_witness");
  t.mutable_consent()->set_informed(true);
  return t;
}

struct Fixture {
  SigningKey device = SigningKey::Generate();
  BoxKeyPair reviewer = BoxKeyPair::Generate();
  v1::Testimony testimony = OneKilobyteTestimony();
  SealParams params;
  Fixture() {
    params.project_id = std::string(kProjectIdBytes, 'p');
    params.device_id = std::string(kDeviceIdBytes, 'd');
    params.device_seq = 1;
    params.recipients = {{reviewer.public_key(), 1}};
  }
};

const Fixture& GetFixture() {
  static const Fixture* fixture = new Fixture();
  return *fixture;
}

void BM_SealRecord(benchmark::State& state) {
  const Fixture& f = GetFixture();
  state.SetLabel(std::to_string(f.testimony.ByteSizeLong()) + " B testimony, 1 recipient");
  for (auto _ : state) {
    absl::StatusOr<v1::Envelope> envelope = SealRecord(f.testimony, f.params, f.device);
    if (!envelope.ok()) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(envelope);
  }
}
BENCHMARK(BM_SealRecord);

void BM_OpenRecord(benchmark::State& state) {
  const Fixture& f = GetFixture();
  const v1::Envelope envelope = SealRecord(f.testimony, f.params, f.device).value();
  state.SetLabel(std::to_string(envelope.ByteSizeLong()) + " B envelope");
  for (auto _ : state) {
    absl::StatusOr<v1::Testimony> opened = OpenRecord(envelope, f.reviewer);
    if (!opened.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opened);
  }
}
BENCHMARK(BM_OpenRecord);

void BM_VerifyRecord(benchmark::State& state) {
  const Fixture& f = GetFixture();
  const v1::Envelope envelope = SealRecord(f.testimony, f.params, f.device).value();
  for (auto _ : state) {
    absl::StatusOr<VerifiedRecord> verified = VerifyRecord(envelope, f.device.public_key());
    if (!verified.ok()) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(verified);
  }
}
BENCHMARK(BM_VerifyRecord);

// Baselines: the raw libsodium calls, on a wrapped key's payload size (48 bytes).
void BM_CryptoBoxSeal48(benchmark::State& state) {
  unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
  crypto_box_keypair(pk, sk);
  unsigned char message[48] = {1};
  unsigned char sealed[48 + crypto_box_SEALBYTES];
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto_box_seal(sealed, message, sizeof message, pk));
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_CryptoBoxSeal48);

void BM_CryptoBoxSealOpen48(benchmark::State& state) {
  unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
  crypto_box_keypair(pk, sk);
  unsigned char message[48] = {1};
  unsigned char sealed[48 + crypto_box_SEALBYTES];
  crypto_box_seal(sealed, message, sizeof message, pk);
  unsigned char opened[48];
  for (auto _ : state) {
    if (crypto_box_seal_open(opened, sealed, sizeof sealed, pk, sk) != 0) {
      state.SkipWithError("open failed");
    }
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_CryptoBoxSealOpen48);

void BM_Ed25519Verify(benchmark::State& state) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  unsigned char message[48] = {2};
  unsigned char signature[crypto_sign_BYTES];
  crypto_sign_detached(signature, nullptr, message, sizeof message, sk);
  for (auto _ : state) {
    if (crypto_sign_verify_detached(signature, message, sizeof message, pk) != 0) {
      state.SkipWithError("verify failed");
    }
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Ed25519Verify);

}  // namespace
}  // namespace temoin::crypto

int main(int argc, char** argv) {
  if (!temoin::crypto::InitializeCrypto().ok()) return EXIT_FAILURE;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return EXIT_FAILURE;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return EXIT_SUCCESS;
}
