#ifndef TEMOIN_CLIENT_DESK_DESK_GUARD_H_
#define TEMOIN_CLIENT_DESK_DESK_GUARD_H_

#include <chrono>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// The desk's front door. A local web server is reachable by every web page the browser
// shows, so each request proves three things: it is addressed to this desk by name
// (Host, against DNS rebinding), it comes from the desk's own page when it changes
// anything (Origin, against cross-site requests), and it carries the session that the
// one-time launch token opened (cookie). All values here are untrusted header text.
namespace temoin::client::desk {

inline constexpr char kSessionCookie[] = "temoin_desk";

// True for exactly "127.0.0.1:<port>" or "localhost:<port>".
bool HostAllowed(absl::string_view host, int port);
// True for exactly "http://127.0.0.1:<port>" or "http://localhost:<port>".
bool OriginAllowed(absl::string_view origin, int port);
// Anything but GET and HEAD may change state and must show an allowed Origin.
bool ChangesState(absl::string_view method);
// The value of cookie `name` in a Cookie header, empty when absent.
std::string CookieValue(absl::string_view cookie_header, absl::string_view name);

// The launch token and the one session it opens. Thread-safe.
class SessionGate {
 public:
  // A fresh random token (32 bytes, hex) and no session yet.
  SessionGate();
  SessionGate(const SessionGate&) = delete;
  SessionGate& operator=(const SessionGate&) = delete;

  // For the URL printed at start. Never logged anywhere else.
  const std::string& launch_token() const { return launch_token_; }

  // Exchanges the launch token for a new session id, once: a second use of the token, or
  // a wrong one, is kPermissionDenied. Compared in constant time.
  absl::StatusOr<std::string> Redeem(absl::string_view token);

  // True when `session_id` is the session the token opened.
  bool IsSession(absl::string_view session_id) const;

  // The cookie to set for `session_id`: HttpOnly, SameSite=Strict, Path=/, no Max-Age
  // (it ends with the browser session; the desk ends it sooner by locking).
  static std::string CookieFor(absl::string_view session_id);

 private:
  const std::string launch_token_;
  mutable std::mutex mu_;
  bool redeemed_ = false;
  std::string session_id_;  // empty until redeemed
};

// Constant-time comparison of two strings of possibly different lengths.
bool SameSecret(absl::string_view a, absl::string_view b);

}  // namespace temoin::client::desk

#endif  // TEMOIN_CLIENT_DESK_DESK_GUARD_H_
