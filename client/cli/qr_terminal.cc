#include "client/cli/qr_terminal.h"

#include <qrencode.h>

#include <memory>

namespace temoin::client {

absl::StatusOr<std::string> RenderQrForTerminal(const std::string& text) {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (!code) return absl::InvalidArgumentError("text does not fit in a QR code");
  const int quiet = 2;
  const int size = code->width + 2 * quiet;
  auto dark = [&](int x, int y) {
    x -= quiet;
    y -= quiet;
    if (x < 0 || y < 0 || x >= code->width || y >= code->width) return false;
    return (code->data[y * code->width + x] & 1) != 0;
  };
  // Terminals are mostly light text on a dark background, so the light modules are
  // painted: scanners then see dark modules on a light field.
  std::string out;
  for (int y = 0; y < size; y += 2) {
    for (int x = 0; x < size; ++x) {
      bool top = !dark(x, y);
      bool bottom = y + 1 < size ? !dark(x, y + 1) : true;
      if (top && bottom)
        out += "\u2588";
      else if (top)
        out += "\u2580";
      else if (bottom)
        out += "\u2584";
      else
        out += " ";
    }
    out += "\n";
  }
  return out;
}

}  // namespace temoin::client
