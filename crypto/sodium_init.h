#ifndef TEMOIN_CRYPTO_SODIUM_INIT_H_
#define TEMOIN_CRYPTO_SODIUM_INIT_H_

#include "absl/status/status.h"

namespace temoin::crypto {

// Initialises libsodium and sets RLIMIT_CORE to 0 so that a crash never writes key
// material to a core file. Call once at the top of main(); safe to call again.
// kInternal if libsodium cannot initialise or core dumps cannot be disabled.
absl::Status InitializeCrypto();

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_SODIUM_INIT_H_
