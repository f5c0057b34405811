#ifndef TEMOIN_CRYPTO_SODIUM_INIT_H_
#define TEMOIN_CRYPTO_SODIUM_INIT_H_

#include "absl/status/status.h"

namespace temoin::crypto {

// Initialises libsodium, sets RLIMIT_CORE to 0 and marks the process not dumpable
// (PR_SET_DUMPABLE 0), so that a crash never writes key material to a core file, even
// through a piped core_pattern, and another process of the same user cannot ptrace it
// or read /proc/PID/mem. Secret buffers are also excluded from dumps and locked in
// memory by sodium_malloc itself (MADV_DONTDUMP + mlock, best-effort). Call once at the
// top of main(); safe to call again. kInternal if libsodium cannot initialise or core
// dumps cannot be disabled.
absl::Status InitializeCrypto();

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_SODIUM_INIT_H_
