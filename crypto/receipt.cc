#include "crypto/receipt.h"

#include "crypto/bytes.h"

namespace temoin::crypto {
namespace {

constexpr absl::string_view kReceiptContext = "temoin/receipt/v1";
// A ReceiptBody is well under 200 bytes; anything far larger is not one.
constexpr size_t kMaxReceiptBodyBytes = 4096;

}  // namespace

v1::Receipt SignReceipt(const v1::ReceiptBody& body, const SigningKey& server_key) {
  v1::Receipt receipt;
  // Signed as serialized here and never re-serialized: protobuf is not canonical.
  receipt.set_body(body.SerializeAsString());
  receipt.set_signature(server_key.Sign(kReceiptContext, receipt.body()));
  return receipt;
}

absl::StatusOr<v1::ReceiptBody> VerifyReceipt(const v1::Receipt& receipt,
                                              absl::string_view server_public_key,
                                              absl::string_view record_id,
                                              absl::string_view digest) {
  if (receipt.body().size() > kMaxReceiptBodyBytes) {
    return absl::InvalidArgumentError("receipt body too large");
  }
  // Signature first: nothing in an unsigned body is worth parsing.
  if (!VerifySignature(server_public_key, kReceiptContext, receipt.body(), receipt.signature())
           .ok()) {
    return absl::UnauthenticatedError("receipt verification failed");
  }
  v1::ReceiptBody body;
  if (!body.ParseFromString(receipt.body())) {
    return absl::InvalidArgumentError("receipt body does not parse");
  }
  if (!internal::ConstantTimeEquals(body.record_id(), record_id)) {
    return absl::InvalidArgumentError("receipt record_id names another record");
  }
  if (!internal::ConstantTimeEquals(body.digest(), digest)) {
    return absl::InvalidArgumentError("receipt digest names another digest");
  }
  return body;
}

}  // namespace temoin::crypto
