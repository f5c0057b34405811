#include "server/rpc/enrollment_guard.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "crypto/keys.h"
#include "server/log/log.h"

namespace temoin::server {
namespace {

// Codes are kept by hash: the guard must not become a store of live tokens.
std::string CodeKey(const std::string& token) {
  return crypto::Hash256("temoin/enrollment-guard/v1", token);
}

}  // namespace

EnrollmentGuard::Window& EnrollmentGuard::Current(std::unordered_map<std::string, Window>& map,
                                                  const std::string& key, int64_t now) {
  if (map.size() >= limits_.max_tracked && !map.contains(key)) Forget(map, now);
  Window& w = map[key];
  if (now - w.start >= limits_.window_seconds) w = Window{now, 0, false};
  return w;
}

// Drops ended windows; if every window is live, the oldest, so the map stays bounded.
void EnrollmentGuard::Forget(std::unordered_map<std::string, Window>& map, int64_t now) {
  std::erase_if(map, [&](const auto& e) { return now - e.second.start >= limits_.window_seconds; });
  if (map.size() < limits_.max_tracked) return;
  auto oldest = std::min_element(map.begin(), map.end(), [](const auto& a, const auto& b) {
    return a.second.start < b.second.start;
  });
  map.erase(oldest);
}

absl::Status EnrollmentGuard::Admit(const std::string& source, const std::string& code_token,
                                    int64_t now) {
  std::lock_guard lock(mu_);
  const Window& by_source = Current(sources_, source, now);
  const Window& by_code = Current(codes_, CodeKey(code_token), now);
  bool over = by_source.failures >= limits_.max_failures_per_source ||
              by_code.failures >= limits_.max_failures_per_code;
  if (!over) return absl::OkStatus();
  int64_t ends = std::max(by_source.start, by_code.start) + limits_.window_seconds;
  return absl::ResourceExhaustedError(absl::StrCat("too many enrolment attempts; try again in ",
                                                   (ends - now + 59) / 60, " minutes"));
}

bool EnrollmentGuard::RecordFailure(const std::string& source, const std::string& code_token,
                                    int64_t now) {
  std::lock_guard lock(mu_);
  ++Current(codes_, CodeKey(code_token), now).failures;
  Window& w = Current(sources_, source, now);
  ++w.failures;
  if (w.reported || w.failures < limits_.max_failures_per_source) return false;
  w.reported = true;
  // Once per source and window, so a guessing flood cannot flood the log; the address
  // only when the operator asked for it (--log-peer-addresses).
  log::Warning("enrolment_guessing", {log::PeerField(source),
                                      {"failures", w.failures},
                                      {"window_seconds", limits_.window_seconds}});
  return true;
}

}  // namespace temoin::server
