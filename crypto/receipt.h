#ifndef TEMOIN_CRYPTO_RECEIPT_H_
#define TEMOIN_CRYPTO_RECEIPT_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/keys.h"
#include "temoin/v1/record.pb.h"

namespace temoin::crypto {

// Serializes `body` once and signs those bytes (context "temoin/receipt/v1").
v1::Receipt SignReceipt(const v1::ReceiptBody& body, const SigningKey& server_key);

// `receipt` untrusted. Checks the server signature, then that the body names
// `record_id` and `digest`. kUnauthenticated "receipt verification failed" on a bad
// signature; kInvalidArgument when the body does not parse or names another record or
// digest.
absl::StatusOr<v1::ReceiptBody> VerifyReceipt(const v1::Receipt& receipt,
                                              absl::string_view server_public_key,
                                              absl::string_view record_id,
                                              absl::string_view digest);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_RECEIPT_H_
