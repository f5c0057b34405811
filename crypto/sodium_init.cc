#include "crypto/sodium_init.h"

#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>

namespace temoin::crypto {

absl::Status InitializeCrypto() {
  // sodium_init is idempotent and thread-safe; it returns 1 when already initialised.
  if (sodium_init() < 0) return absl::InternalError("libsodium initialisation failed");
  // A core file would hold every key in memory, sodium_malloc or not (the libsodium
  // "Secure memory" advice). Lowering a limit is always allowed, so failure is a bug.
  struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return absl::InternalError("cannot disable core dumps");
  }
  // RLIMIT_CORE does not cover a core_pattern that pipes to a program (systemd-coredump,
  // apport ignore the limit), nor another process of the same user reading our memory
  // through ptrace or /proc/PID/mem. Not dumpable closes both; execve() restores the
  // flag, so programs we run are unaffected.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError("cannot mark the process as not dumpable");
  }
  return absl::OkStatus();
}

}  // namespace temoin::crypto
