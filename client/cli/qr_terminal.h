#ifndef TEMOIN_CLIENT_CLI_QR_TERMINAL_H_
#define TEMOIN_CLIENT_CLI_QR_TERMINAL_H_

#include <string>

#include "absl/status/statusor.h"

namespace temoin::client {

// `text` as a QR code (libqrencode, error correction M) drawn with Unicode half blocks,
// two modules per character row, with the quiet zone; dark on light. For a terminal.
absl::StatusOr<std::string> RenderQrForTerminal(const std::string& text);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CLI_QR_TERMINAL_H_
