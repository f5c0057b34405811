// Envelope and header parse, verify and open (crypto/envelope.h), as the server verifies
// an uploaded record and a reviewer opens one. Input: a serialized v1::Envelope.
// Odd first byte: the envelope is signed again with the device key first, as a
// hostile device would, so that everything past the signature check is reached.
#include <cstddef>
#include <cstdint>

#include "crypto/envelope.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/fuzz_world.h"

namespace temoin::fuzz {
namespace {

std::vector<std::string> Seeds() {
  std::unique_ptr<FuzzWorld> world = FuzzWorld::Create();
  std::vector<std::string> seeds;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    std::vector<v1::AttachmentRef> refs;
    if (seq == 3) refs.push_back(MakeFixedBlob(1000, 9).ref);
    std::string bytes = world->Seal(seq, refs).SerializeAsString();
    seeds.push_back(std::string(1, '\0') + bytes);
    seeds.push_back(std::string(1, '\1') + bytes);
  }
  return seeds;
}

struct Keys {
  crypto::SigningKey device = FixedSigningKey(7);  // FuzzWorld's monitor
  crypto::BoxKeyPair recipient = FixedBoxKey(6);   // FuzzWorld's project epoch key
};

}  // namespace
}  // namespace temoin::fuzz

TEMOIN_FUZZ_SEEDS(temoin::fuzz::Seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace temoin;
  static const fuzz::Keys* keys = new fuzz::Keys();
  if (size < 1) return 0;
  v1::Envelope envelope;
  if (!envelope.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  if (data[0] & 1) {
    envelope.set_signature(keys->device.Sign("temoin/record/v1", crypto::RecordDigest(envelope)));
  }
  absl::StatusOr<crypto::VerifiedRecord> verified =
      crypto::VerifyRecord(envelope, keys->device.public_key());
  (void)crypto::MakeCommitment(envelope);
  absl::StatusOr<v1::Testimony> opened = crypto::OpenRecord(envelope, keys->recipient);
  if (opened.ok()) (void)opened->ByteSizeLong();
  return 0;
}
