#ifndef TEMOIN_SERVER_RPC_OPEN_CALL_COUNTER_H_
#define TEMOIN_SERVER_RPC_OPEN_CALL_COUNTER_H_

#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace temoin::server {

class OpenCallCounter;

// One admitted call; closes it on destruction. Move-only; empty when default-made.
class Admission {
 public:
  Admission() = default;
  Admission(Admission&& other) noexcept
      : counter_(std::exchange(other.counter_, nullptr)), key_(std::move(other.key_)) {}
  Admission& operator=(Admission&& other) noexcept;
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;
  ~Admission() { Release(); }

 private:
  friend class OpenCallCounter;
  Admission(OpenCallCounter* counter, std::string key) : counter_(counter), key_(std::move(key)) {}
  void Release();
  OpenCallCounter* counter_ = nullptr;
  std::string key_;
};

// Open calls per owner (a device id, or a source address for calls without a session),
// with a cap on each. Keys are held in memory only, while their calls are open, and
// never logged: a source address is personal data (see docs/admin-guide.md).
// Thread-safe.
class OpenCallCounter {
 public:
  explicit OpenCallCounter(int max_per_key) : max_per_key_(max_per_key) {}

  // An admission for one more call of `key`, or an empty one (false) at the cap.
  bool TryOpen(const std::string& key, Admission* admission);
  int open(const std::string& key) const;

 private:
  friend class Admission;
  void Close(const std::string& key);

  const int max_per_key_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> open_;
};

// "ipv4:127.0.0.1:5555" -> "127.0.0.1", "ipv6:[::1]:5555" -> "::1": the address a
// connection comes from, without its port (each connection has its own).
std::string SourceAddressOfPeer(const std::string& peer);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_OPEN_CALL_COUNTER_H_
