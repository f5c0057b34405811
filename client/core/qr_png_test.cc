// The invite QR code as a PNG: signature, chunk CRCs, header size, and pixels that
// decode (with zlib) back to the QR modules of the same text.
#include "client/core/qr_png.h"

#include <gtest/gtest.h>
#include <qrencode.h>
#include <zlib.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace temoin::client {
namespace {

// A made-up enrolment code of realistic length; no real token.
const std::string kCode =
    "temoin1:" + std::string(180, 'A') + "0123456789abcdefghijklmnopqrstuvwxyz-_";

uint32_t U32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<uint8_t>(s[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(s[at + 3])};
}

struct Chunk {
  std::string type, data;
};

// Walks the chunks, checking each CRC; fails the test on any inconsistency.
std::vector<Chunk> ParseChunks(const std::string& png) {
  std::vector<Chunk> chunks;
  size_t at = 8;
  while (at < png.size()) {
    EXPECT_LE(at + 12, png.size());
    if (at + 12 > png.size()) break;
    uint32_t length = U32(png, at);
    EXPECT_LE(at + 12 + length, png.size());
    if (at + 12 + length > png.size()) break;
    std::string typed = png.substr(at + 4, 4 + length);
    uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(typed.data()), typed.size());
    EXPECT_EQ(U32(png, at + 8 + length), static_cast<uint32_t>(crc)) << typed.substr(0, 4);
    chunks.push_back({typed.substr(0, 4), typed.substr(4)});
    at += 12 + length;
  }
  return chunks;
}

TEST(QrPngTest, WritesAValidPngOfTheQrCode) {
  const int scale = 6;
  absl::StatusOr<QrPng> qr = RenderQrPng(kCode, scale);
  ASSERT_TRUE(qr.ok()) << qr.status();
  const std::string& png = qr->png;
  ASSERT_GE(png.size(), 8u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  std::vector<Chunk> chunks = ParseChunks(png);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].type, "IHDR");
  EXPECT_EQ(chunks[1].type, "IDAT");
  EXPECT_EQ(chunks[2].type, "IEND");
  EXPECT_TRUE(chunks[2].data.empty());

  // The same symbol libqrencode makes for this text, at the same error correction.
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(kCode.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  ASSERT_TRUE(code);
  ASSERT_EQ(qr->modules, code->width);
  const uint32_t side = (code->width + 2 * kQrPngQuietModules) * scale;
  ASSERT_EQ(chunks[0].data.size(), 13u);
  EXPECT_EQ(U32(chunks[0].data, 0), side);
  EXPECT_EQ(U32(chunks[0].data, 4), side);
  EXPECT_EQ(chunks[0].data.substr(8), std::string("\x08\x00\x00\x00\x00", 5));

  std::string raw(side * (side + 1), '\0');
  uLongf raw_size = raw.size();
  ASSERT_EQ(
      uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size,
                 reinterpret_cast<const Bytef*>(chunks[1].data.data()), chunks[1].data.size()),
      Z_OK);
  ASSERT_EQ(raw_size, raw.size());
  // Every pixel is the module under it: dark modules black, quiet zone and light white.
  int mismatches = 0;
  for (uint32_t y = 0; y < side; ++y) {
    ASSERT_EQ(raw[y * (side + 1)], '\0') << "filter byte of row " << y;
    for (uint32_t x = 0; x < side; ++x) {
      int mx = static_cast<int>(x / scale) - kQrPngQuietModules;
      int my = static_cast<int>(y / scale) - kQrPngQuietModules;
      bool dark = mx >= 0 && my >= 0 && mx < code->width && my < code->width &&
                  (code->data[my * code->width + mx] & 1);
      uint8_t pixel = static_cast<uint8_t>(raw[y * (side + 1) + 1 + x]);
      if (pixel != (dark ? 0x00 : 0xff)) ++mismatches;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(QrPngTest, RefusesTextTooLongAndBadScale) {
  EXPECT_EQ(RenderQrPng(std::string(5000, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderQrPng(kCode, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderQrPng(kCode, 33).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace temoin::client
