#ifndef TEMOIN_CLIENT_DESK_DESK_SERVER_H_
#define TEMOIN_CLIENT_DESK_DESK_SERVER_H_

#include <functional>
#include <string>

#include "absl/status/status.h"

// `temoin desk`: the reviewer's desk in the browser, served on 127.0.0.1 only. See
// docs/desk-api.md for the API and its security rules.
namespace temoin::client::desk {

struct DeskOptions {
  std::string home;
  int port = 0;  // 0: any free port
  bool open_browser = true;
  int lock_minutes = 15;
  // Where the URL (with its one-time token) is printed; stdout by default.
  std::function<void(const std::string& url)> print_url;
};

// Serves until the page closes the desk or the process gets SIGINT/SIGTERM; locks (wipes
// everything decrypted) before returning. kUnavailable when the port cannot be bound,
// kInvalidArgument for a bad option.
absl::Status RunDesk(const DeskOptions& options);

}  // namespace temoin::client::desk

#endif  // TEMOIN_CLIENT_DESK_DESK_SERVER_H_
