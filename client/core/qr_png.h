#ifndef TEMOIN_CLIENT_CORE_QR_PNG_H_
#define TEMOIN_CLIENT_CORE_QR_PNG_H_

#include <string>

#include "absl/status/statusor.h"

namespace temoin::client {

// Quiet zone the QR standard asks for, in modules, on every side.
inline constexpr int kQrPngQuietModules = 4;

struct QrPng {
  std::string png;  // the file's bytes
  int modules = 0;  // width of the symbol itself, quiet zone excluded
};

// `text` as a QR code (libqrencode, error correction M, like the terminal rendering) in
// a PNG: 8-bit greyscale, black modules on white, each module `scale` pixels square, so
// the image is (modules + 2 * kQrPngQuietModules) * scale pixels wide and high. Written
// with zlib alone (one IDAT, filter 0): a QR code compresses to a few KiB anyway.
// kInvalidArgument when `text` does not fit in a QR code or `scale` is not in 1..32.
absl::StatusOr<QrPng> RenderQrPng(const std::string& text, int scale = 8);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_QR_PNG_H_
