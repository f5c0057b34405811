#ifndef TEMOIN_TESTS_FUZZ_FUZZ_WORLD_H_
#define TEMOIN_TESTS_FUZZ_FUZZ_WORLD_H_

// A server core on a MemoryStore with an organisation, one project ("alpha") and one
// monitor signed in, for the targets that feed the core's entry points. Every key and
// id is derived from fixed seeds, so that a seed written by one run (a record signed by
// the monitor, a bundle sealed to the server) is still valid input for the next; only
// session tokens are random, and they never appear in an input.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "crypto/keys.h"
#include "server/core/core.h"
#include "server/core/testing/fake_device.h"
#include "server/storage/memory_store.h"
#include "temoin/v1/record.pb.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::fuzz {

// An Ed25519 or X25519 key made from a one-byte seed: the same on every run.
crypto::SigningKey FixedSigningKey(uint8_t seed);
crypto::BoxKeyPair FixedBoxKey(uint8_t seed);

// An attachment as a device makes one: its stream, cut into upload slices, and its ref.
struct FixedBlob {
  v1::AttachmentRef ref;
  std::string stream;
  std::vector<std::string> slices;
};
FixedBlob MakeFixedBlob(size_t plaintext_bytes, uint8_t seed);

class FuzzWorld {
 public:
  // A fresh world per input: what one input stored never changes the next one's result.
  static std::unique_ptr<FuzzWorld> Create();

  server::Core& core() { return *core_; }
  const server::Session& monitor_session() const { return monitor_session_; }
  const server::testing::FakeDevice& monitor() const { return monitor_; }
  const crypto::BoxKeyPair& epoch_key() const { return epoch_key_; }
  const crypto::BoxKeyPair& bundle_key() const { return *core_->bundle_key(); }
  // The key the server signs receipts with.
  const std::string& receipt_public_key() const { return receipt_public_key_; }

  // A record of the monitor's, as the client seals it; `seq` fixes its id too.
  v1::Envelope Seal(uint64_t seq, const std::vector<v1::AttachmentRef>& attachments = {}) const;
  // Signs `envelope` again with the monitor's key, as a hostile device can sign
  // anything it likes: the core's checks past the signature get exercised.
  void Resign(v1::Envelope& envelope) const;
  // "TEMOINB1" || SealedBundle of `bundle` (plaintext) to this server's bundle key.
  std::string SealBundle(const std::string& bundle_plaintext) const;

 private:
  FuzzWorld();
  FakeClock clock_;
  server::MemoryStore store_;
  std::unique_ptr<server::Core> core_;
  server::testing::FakeDevice admin_, monitor_;
  std::string project_id_;
  crypto::BoxKeyPair epoch_key_;
  server::Session monitor_session_;
  std::string receipt_public_key_;
};

}  // namespace temoin::fuzz

#endif  // TEMOIN_TESTS_FUZZ_FUZZ_WORLD_H_
