// Receipts, single and batch (crypto/receipt.h), as a device checks what the server
// sent: the receipt, its body, its audit path and the batch signature are untrusted.
// Input: a serialized v1::Receipt. Odd first byte: the single-receipt signature is
// made again with the server key over whatever body the input holds, so that the body
// checks past the signature are reached.
#include <cstddef>
#include <cstdint>

#include "crypto/receipt.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/fuzz_world.h"

namespace temoin::fuzz {
namespace {

const crypto::SigningKey& ServerKey() {
  static const crypto::SigningKey* key = new crypto::SigningKey(FixedSigningKey(1));
  return *key;
}

v1::ReceiptBody Body(uint8_t n) {
  v1::ReceiptBody body;
  body.set_format_version(1);
  body.set_record_id(std::string(16, static_cast<char>(n)));
  body.set_digest(std::string(32, static_cast<char>(n + 1)));
  body.set_log_index(n);
  body.set_received_at(1'780'000'000);
  body.set_server_key_id(std::string(16, 'k'));
  return body;
}

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds;
  seeds.push_back(std::string(1, '\0') +
                  crypto::SignReceipt(Body(1), ServerKey()).SerializeAsString());
  std::vector<v1::ReceiptBody> bodies;
  for (uint8_t n = 1; n <= 5; ++n) bodies.push_back(Body(n));
  for (const v1::Receipt& receipt : crypto::SignBatchReceipts(bodies, ServerKey())) {
    seeds.push_back(std::string(1, '\0') + receipt.SerializeAsString());
  }
  return seeds;
}

}  // namespace
}  // namespace temoin::fuzz

TEMOIN_FUZZ_SEEDS(temoin::fuzz::Seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace temoin;
  if (size < 1) return 0;
  v1::Receipt receipt;
  if (!receipt.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  const crypto::SigningKey& key = fuzz::ServerKey();
  if (data[0] & 1) receipt.set_signature(key.Sign("temoin/receipt/v1", receipt.body()));
  // What the device expects: the record id and digest the body claims, when it parses.
  v1::ReceiptBody claimed;
  claimed.ParseFromString(receipt.body());
  (void)crypto::VerifyReceipt(receipt, key.public_key(), claimed.record_id(), claimed.digest());
  // The batch form: the device rebuilds the bodies and checks the one signature.
  std::vector<v1::ReceiptBody> bodies(1 + receipt.leaf_index() % 4, claimed);
  (void)crypto::VerifyBatchReceipts(bodies, receipt.signature(), key.public_key());
  return 0;
}
