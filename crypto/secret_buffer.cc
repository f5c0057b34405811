#include "crypto/secret_buffer.h"

#include <sodium.h>

#include <cstring>

#include "common/status_macros.h"

namespace temoin::crypto {
namespace {

// sodium_malloc aborts (sodium_misuse) unless sodium_init has run, because it needs the
// page size. Initialising here once means a forgotten InitializeCrypto() in some
// binary or test cannot turn into a crash; main() still calls it for RLIMIT_CORE.
void EnsureSodiumInitialized() {
  static const bool initialized = sodium_init() >= 0;
  TEMOIN_CHECK(initialized);
}

}  // namespace

SecretBuffer SecretBuffer::Allocate(size_t size) {
  if (size == 0) return SecretBuffer();
  EnsureSodiumInitialized();
  void* p = sodium_malloc(size);  // guard pages + canary; mlock is best-effort
  TEMOIN_CHECK(p != nullptr);     // allocation failure terminates (STYLE.md)
  sodium_memzero(p, size);        // sodium_malloc fills with 0xdb, callers expect zeros
  return SecretBuffer(static_cast<uint8_t*>(p), size);
}

SecretBuffer SecretBuffer::Random(size_t size) {
  SecretBuffer buffer = Allocate(size);
  if (size > 0) randombytes_buf(buffer.data(), size);
  return buffer;
}

SecretBuffer SecretBuffer::CopyOf(absl::string_view bytes) {
  SecretBuffer buffer = Allocate(bytes.size());
  if (!bytes.empty()) std::memcpy(buffer.data(), bytes.data(), bytes.size());
  return buffer;
}

SecretBuffer& SecretBuffer::operator=(SecretBuffer&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

bool SecretBuffer::Equals(const SecretBuffer& other) const {
  // The lengths of keys are public; only the contents need a constant-time compare.
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data_, size_) == 0;
}

void SecretBuffer::Reset() {
  if (data_ == nullptr) return;
  sodium_memzero(data_, size_);  // sodium_free wipes too, but only on some builds
  sodium_free(data_);
  data_ = nullptr;
  size_ = 0;
}

void WipeString(std::string& s) {
  // Wipe the whole capacity: a string that shrank may still hold old bytes past size().
  // Growing to capacity first keeps every write inside [data, data + size).
  s.resize(s.capacity());
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace temoin::crypto
