#ifndef TEMOIN_SERVER_LOG_LOG_H_
#define TEMOIN_SERVER_LOG_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

// The server's log: one line per event on stderr (journald keeps it under systemd), with
// a level, an event name and key=value fields, or one JSON object a line
// (--log-format json).
//
//   2026-03-14T09:00:00Z level=info event=serving org="Synthetic Rights Org" port=7443
//
// What never goes in a field: a key, a token, a passphrase, an enrolment code, a record's
// plaintext, and (unless the operator passed --log-peer-addresses) a client's address;
// callers pass a peer's address only through PeerField(), which drops it by default.
// Thread-safe: each line is written whole, by one write(2).
namespace temoin::server::log {

enum class Level { kInfo, kWarning, kError };
enum class Format { kText, kJson };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, absl::string_view v) : key(k), value(v.data(), v.size()) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, int64_t v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, uint64_t v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
  std::string_view key;  // a fixed name: letters, digits and '_'
  std::string value;
};

// Set once at start, before any thread logs (temoin-server run flags).
void Configure(Format format, bool log_peer_addresses);

// A field holding a client's address when the operator allowed it, else a field saying
// it was left out ("peer=omitted"): an address can identify a monitor.
Field PeerField(absl::string_view address);

void Write(Level level, std::string_view event, std::initializer_list<Field> fields = {});
inline void Info(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, event, fields);
}
inline void Warning(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarning, event, fields);
}
inline void Error(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, event, fields);
}

// The line Write() would print at `unix_seconds`, without its newline (for tests).
std::string FormatLine(Format format, int64_t unix_seconds, Level level, std::string_view event,
                       std::initializer_list<Field> fields);

}  // namespace temoin::server::log

#endif  // TEMOIN_SERVER_LOG_LOG_H_
