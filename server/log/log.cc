#include "server/log/log.h"

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <mutex>
namespace temoin::server::log {
namespace {

std::atomic<Format> g_format{Format::kText};
std::atomic<bool> g_peer_addresses{false};

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "error";
}

std::string Timestamp(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// JSON string escaping; also used for quoted text values, so that a value can never
// start a new line or a new field.
void AppendEscaped(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (unsigned char c : value) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  }
  return false;
}

void AppendText(std::string& out, std::string_view key, std::string_view value) {
  out += ' ';
  out.append(key);
  out += '=';
  if (!NeedsQuotes(value)) {
    out.append(value);
    return;
  }
  out += '"';
  AppendEscaped(out, value);
  out += '"';
}

void AppendJson(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  AppendEscaped(out, key);
  out += "\":\"";
  AppendEscaped(out, value);
  out += '"';
}

}  // namespace

void Configure(Format format, bool log_peer_addresses) {
  g_format = format;
  g_peer_addresses = log_peer_addresses;
}

Field PeerField(absl::string_view address) {
  if (!g_peer_addresses.load()) return Field("peer", "omitted");
  return Field("peer", address);
}

std::string FormatLine(Format format, int64_t unix_seconds, Level level, std::string_view event,
                       std::initializer_list<Field> fields) {
  std::string line;
  if (format == Format::kJson) {
    line = "{\"time\":\"" + Timestamp(unix_seconds) + "\"";
    AppendJson(line, "level", LevelName(level));
    AppendJson(line, "event", event);
    for (const Field& f : fields) AppendJson(line, f.key, f.value);
    line += '}';
    return line;
  }
  line = Timestamp(unix_seconds);
  AppendText(line, "level", LevelName(level));
  AppendText(line, "event", event);
  for (const Field& f : fields) AppendText(line, f.key, f.value);
  return line;
}

void Write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  std::string line =
      FormatLine(g_format.load(), static_cast<int64_t>(std::time(nullptr)), level, event, fields);
  line += '\n';
  static std::mutex mu;  // lines from threads never interleave, even past PIPE_BUF
  std::lock_guard lock(mu);
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;  // nowhere to log: the server goes on
    done += static_cast<size_t>(n);
  }
}

}  // namespace temoin::server::log
