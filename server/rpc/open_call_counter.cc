#include "server/rpc/open_call_counter.h"

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace temoin::server {

Admission& Admission::operator=(Admission&& other) noexcept {
  if (this != &other) {
    Release();
    counter_ = std::exchange(other.counter_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

void Admission::Release() {
  if (counter_ != nullptr) std::exchange(counter_, nullptr)->Close(key_);
}

bool OpenCallCounter::TryOpen(const std::string& key, Admission* admission) {
  {
    std::lock_guard lock(mu_);
    int& open = open_[key];
    if (open >= max_per_key_) {
      if (open == 0) open_.erase(key);
      return false;
    }
    ++open;
  }
  // Outside the lock: replacing a held admission closes it, which takes the lock.
  *admission = Admission(this, key);
  return true;
}

int OpenCallCounter::open(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = open_.find(key);
  return it == open_.end() ? 0 : it->second;
}

void OpenCallCounter::Close(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = open_.find(key);
  if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

std::string SourceAddressOfPeer(const std::string& peer) {
  absl::string_view p(peer);
  if (absl::ConsumePrefix(&p, "ipv6:[")) return std::string(p.substr(0, p.find(']')));
  if (absl::ConsumePrefix(&p, "ipv4:")) return std::string(p.substr(0, p.rfind(':')));
  return std::string(p);  // unix sockets and the like: the whole peer is the source
}

}  // namespace temoin::server
