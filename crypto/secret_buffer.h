#ifndef TEMOIN_CRYPTO_SECRET_BUFFER_H_
#define TEMOIN_CRYPTO_SECRET_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace temoin::crypto {

// Key material. Lives in sodium_malloc memory (guard pages, canary, mlock best-effort)
// and is wiped with sodium_memzero before it is freed. Move-only. No operator<< and no
// DebugString: a secret cannot be printed by accident. Allocation failure aborts.
class SecretBuffer {
 public:
  SecretBuffer() = default;
  // `size` zero bytes.
  static SecretBuffer Allocate(size_t size);
  // `size` bytes from the system CSPRNG.
  static SecretBuffer Random(size_t size);
  // A copy of `bytes`. The caller wipes its own copy.
  static SecretBuffer CopyOf(absl::string_view bytes);

  SecretBuffer(SecretBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  SecretBuffer& operator=(SecretBuffer&& other) noexcept;
  SecretBuffer(const SecretBuffer&) = delete;
  SecretBuffer& operator=(const SecretBuffer&) = delete;
  ~SecretBuffer() { Reset(); }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // A view for APIs that take bytes. Grep-able on purpose: every raw read of a secret
  // goes through here.
  absl::string_view ExposeSecret() const {
    return absl::string_view(reinterpret_cast<const char*>(data_), size_);
  }
  // Constant-time comparison.
  bool Equals(const SecretBuffer& other) const;

 private:
  SecretBuffer(uint8_t* data, size_t size) : data_(data), size_(size) {}
  void Reset();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Wipes a std::string that held a secret or plaintext (sodium_memzero), then clears it.
void WipeString(std::string& s);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_SECRET_BUFFER_H_
