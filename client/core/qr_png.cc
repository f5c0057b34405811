#include "client/core/qr_png.h"

#include <qrencode.h>
#include <zlib.h>

#include <cstdint>
#include <memory>

namespace temoin::client {
namespace {

void AppendU32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

// length, type, data, CRC-32 over type and data (PNG spec, section 5.3).
void AppendChunk(std::string& out, const char type[4], const std::string& data) {
  AppendU32(out, static_cast<uint32_t>(data.size()));
  std::string typed(type, 4);
  typed += data;
  out += typed;
  uLong crc =
      crc32(0L, reinterpret_cast<const Bytef*>(typed.data()), static_cast<uInt>(typed.size()));
  AppendU32(out, static_cast<uint32_t>(crc));
}

}  // namespace

absl::StatusOr<QrPng> RenderQrPng(const std::string& text, int scale) {
  if (scale < 1 || scale > 32) return absl::InvalidArgumentError("scale must be 1 to 32");
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (!code) return absl::InvalidArgumentError("text does not fit in a QR code");
  const int modules = code->width;
  const int side = (modules + 2 * kQrPngQuietModules) * scale;

  // Raw scanlines: a filter byte (0, none) then one byte a pixel.
  std::string raw;
  raw.reserve(static_cast<size_t>(side) * (side + 1));
  for (int y = 0; y < side; ++y) {
    raw.push_back(0);
    const int my = y / scale - kQrPngQuietModules;
    for (int x = 0; x < side; ++x) {
      const int mx = x / scale - kQrPngQuietModules;
      bool dark = mx >= 0 && my >= 0 && mx < modules && my < modules &&
                  (code->data[my * modules + mx] & 1) != 0;
      raw.push_back(static_cast<char>(dark ? 0x00 : 0xff));
    }
  }
  uLongf compressed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string compressed(compressed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                Z_BEST_COMPRESSION) != Z_OK) {
    return absl::InternalError("zlib compression of the QR image failed");
  }
  compressed.resize(compressed_size);

  std::string ihdr;
  AppendU32(ihdr, static_cast<uint32_t>(side));
  AppendU32(ihdr, static_cast<uint32_t>(side));
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // depth 8, greyscale, deflate, none, none

  QrPng out;
  out.modules = modules;
  out.png = std::string("\x89PNG\r\n\x1a\n", 8);
  AppendChunk(out.png, "IHDR", ihdr);
  AppendChunk(out.png, "IDAT", compressed);
  AppendChunk(out.png, "IEND", "");
  return out;
}

}  // namespace temoin::client
