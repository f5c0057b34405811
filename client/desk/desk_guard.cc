#include "client/desk/desk_guard.h"

#include <sodium.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "crypto/secret_buffer.h"

namespace temoin::client::desk {
namespace {

std::string RandomHex(size_t bytes) {
  crypto::SecretBuffer random = crypto::SecretBuffer::Random(bytes);
  return ToHex(random.ExposeSecret());
}

}  // namespace

bool HostAllowed(absl::string_view host, int port) {
  return host == absl::StrCat("127.0.0.1:", port) || host == absl::StrCat("localhost:", port);
}

bool OriginAllowed(absl::string_view origin, int port) {
  return origin == absl::StrCat("http://127.0.0.1:", port) ||
         origin == absl::StrCat("http://localhost:", port);
}

bool ChangesState(absl::string_view method) { return method != "GET" && method != "HEAD"; }

std::string CookieValue(absl::string_view cookie_header, absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(cookie_header, ';')) {
    pair = absl::StripAsciiWhitespace(pair);
    size_t eq = pair.find('=');
    if (eq != absl::string_view::npos && pair.substr(0, eq) == name) {
      return std::string(pair.substr(eq + 1));
    }
  }
  return "";
}

bool SameSecret(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

SessionGate::SessionGate() : launch_token_(RandomHex(32)) {}

absl::StatusOr<std::string> SessionGate::Redeem(absl::string_view token) {
  std::lock_guard<std::mutex> lock(mu_);
  if (redeemed_ || !SameSecret(token, launch_token_)) {
    return absl::PermissionDeniedError(
        "this link is not valid (it works once): restart `temoin desk` for a new one");
  }
  redeemed_ = true;
  session_id_ = RandomHex(32);
  return session_id_;
}

bool SessionGate::IsSession(absl::string_view session_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return redeemed_ && SameSecret(session_id, session_id_);
}

std::string SessionGate::CookieFor(absl::string_view session_id) {
  return absl::StrCat(kSessionCookie, "=", session_id, "; HttpOnly; SameSite=Strict; Path=/");
}

}  // namespace temoin::client::desk
