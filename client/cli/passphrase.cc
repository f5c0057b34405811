#include "client/cli/passphrase.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "common/file_util.h"
#include "crypto/secret_buffer.h"

namespace temoin::client {
namespace {

void StripNewline(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
}

// One line from /dev/tty with echo off; std::nullopt when there is no terminal.
std::optional<std::string> PromptOnTty(const char* prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  termios old_mode{};
  bool have_mode = ::tcgetattr(fd, &old_mode) == 0;
  if (have_mode) {
    termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)!::write(fd, prompt, std::char_traits<char>::length(prompt));
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (have_mode) ::tcsetattr(fd, TCSAFLUSH, &old_mode);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  return line;
}

}  // namespace

absl::StatusOr<std::string> ReadPassphrase(const std::string& passphrase_file, bool confirm) {
  std::string passphrase;
  if (!passphrase_file.empty()) {
    absl::StatusOr<std::string> contents = ReadFileToString(passphrase_file, 4096);
    if (!contents.ok()) return contents.status();
    passphrase = std::move(*contents);
    StripNewline(passphrase);
  } else if (const char* env = std::getenv("TEMOIN_PASSPHRASE"); env != nullptr) {
    passphrase = env;
  } else {
    std::optional<std::string> first = PromptOnTty("Passphrase: ");
    if (!first.has_value()) {
      return absl::FailedPreconditionError(
          "no passphrase: run on a terminal, or give --passphrase-file FILE or TEMOIN_PASSPHRASE");
    }
    passphrase = std::move(*first);
    if (confirm) {
      std::optional<std::string> second = PromptOnTty("Passphrase again: ");
      bool same = second.has_value() && *second == passphrase;
      if (second.has_value()) crypto::WipeString(*second);
      if (!same) {
        crypto::WipeString(passphrase);
        return absl::InvalidArgumentError("the two passphrases differ");
      }
    }
  }
  if (passphrase.empty()) return absl::InvalidArgumentError("passphrase is empty");
  return passphrase;
}

absl::StatusOr<std::string> ReadNewPassphrase(const char* prompt) {
  std::string passphrase;
  if (const char* env = std::getenv("TEMOIN_NEW_PASSPHRASE"); env != nullptr) {
    passphrase = env;
  } else {
    std::optional<std::string> first = PromptOnTty(prompt);
    if (!first.has_value()) {
      return absl::FailedPreconditionError(
          "no new passphrase: run on a terminal or set TEMOIN_NEW_PASSPHRASE");
    }
    std::optional<std::string> second = PromptOnTty("Again: ");
    bool same = second.has_value() && *second == *first;
    if (second.has_value()) crypto::WipeString(*second);
    if (!same) {
      crypto::WipeString(*first);
      return absl::InvalidArgumentError("the two passphrases differ");
    }
    passphrase = std::move(*first);
  }
  if (passphrase.empty()) return absl::InvalidArgumentError("new passphrase is empty");
  return passphrase;
}

bool ConfirmOnTty(const char* question) {
  std::optional<std::string> answer = PromptOnTty(question);
  return answer.has_value() && (*answer == "yes" || *answer == "YES");
}

}  // namespace temoin::client
