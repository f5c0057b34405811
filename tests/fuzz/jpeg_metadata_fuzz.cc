// The JPEG metadata stripper (client/core/jpeg_metadata.h): photos come from anywhere.
// What it returns must strip to itself again (stripping is idempotent).
#include <cstddef>
#include <cstdint>

#include "client/core/jpeg_metadata.h"
#include "tests/fuzz/fuzz_support.h"

namespace temoin::fuzz {
namespace {

std::string Segment(uint8_t marker, const std::string& payload) {
  std::string s = {'\xFF', static_cast<char>(marker)};
  size_t length = payload.size() + 2;
  s += static_cast<char>(length >> 8);
  s += static_cast<char>(length & 0xFF);
  return s + payload;
}

// As client/core/jpeg_metadata_test.cc's PhoneJpeg: every kind of segment once.
std::vector<std::string> Seeds() {
  std::string jpeg = "\xFF\xD8";
  jpeg += Segment(0xE0, std::string("JFIF\0\1\1\0\0\1\0\1\0\0", 14));
  jpeg += Segment(0xE1, std::string("Exif\0\0", 6) + "GPSLatitude 14.49 N Mopti SERIAL-XYZ");
  jpeg += Segment(0xE1, "http://ns.adobe.com/xap/1.0/ <xmp>GPSLongitude -4.19</xmp>");
  jpeg += Segment(0xED, "Photoshop 3.0 IPTC City=Sevare");
  jpeg += Segment(0xEE, std::string("Adobe\0\x64\0\0\0\0\1", 12));
  jpeg += Segment(0xFE, "taken by monitor 7");
  jpeg += Segment(0xDB, std::string(65, '\x01'));
  jpeg += Segment(0xC4, std::string(20, '\x02'));
  jpeg += Segment(0xDD, std::string("\x00\x04", 2));
  jpeg += Segment(0xC0, std::string("\x08\x00\x10\x00\x10\x01\x01\x11\x00", 9));
  jpeg += Segment(0xDA, std::string("\x01\x01\x00\x00\x3F\x00", 6));
  jpeg += std::string("\x12\x34\xFF\x00\x56\xFF\xD0\x78\x9A", 9);  // data, stuffing, RST0
  jpeg += "\xFF\xD9";
  return {jpeg};
}

}  // namespace
}  // namespace temoin::fuzz

TEMOIN_FUZZ_SEEDS(temoin::fuzz::Seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace temoin::client;
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)LooksLikeJpeg(bytes);
  absl::StatusOr<std::string> stripped = StripJpegMetadata(bytes);
  if (!stripped.ok()) return 0;
  if (stripped->size() > bytes.size()) __builtin_trap();
  absl::StatusOr<std::string> again = StripJpegMetadata(*stripped);
  if (!again.ok() || *again != *stripped) __builtin_trap();
  return 0;
}
