#include "client/core/jpeg_metadata.h"

#include <cstdint>

#include "common/status_macros.h"

namespace temoin::client {
namespace {

constexpr uint8_t kMarker = 0xFF;
constexpr uint8_t kSoi = 0xD8;
constexpr uint8_t kEoi = 0xD9;
constexpr uint8_t kSos = 0xDA;
constexpr uint8_t kApp0 = 0xE0;
constexpr uint8_t kApp14 = 0xEE;
constexpr uint8_t kCom = 0xFE;

absl::Status Malformed() { return absl::InvalidArgumentError("not a well-formed JPEG"); }

bool IsStandalone(uint8_t marker) {
  return marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7);  // TEM, RSTn
}

// Metadata segments we drop. APP0 (JFIF) and APP14 (Adobe colour transform) stay:
// decoders need them and they carry no place, time or device.
bool IsMetadata(uint8_t marker) {
  if (marker == kCom) return true;
  return marker > kApp0 && marker <= 0xEF && marker != kApp14;
}

uint8_t At(absl::string_view bytes, size_t i) { return static_cast<uint8_t>(bytes[i]); }

// Debian's absl::string_view is not std::string_view: append by pointer and length.
void Append(std::string& out, absl::string_view bytes, size_t from, size_t count) {
  out.append(bytes.data() + from, count);
}

// Real photos settle after one pass; a crafted file gets a few more, then is refused.
constexpr int kMaxPasses = 4;

}  // namespace

bool LooksLikeJpeg(absl::string_view bytes) {
  return bytes.size() >= 3 && At(bytes, 0) == kMarker && At(bytes, 1) == kSoi &&
         At(bytes, 2) == kMarker;
}

namespace {

absl::StatusOr<std::string> StripOnce(absl::string_view bytes) {
  if (!LooksLikeJpeg(bytes)) return Malformed();
  std::string out(bytes.data(), 2);
  size_t i = 2;
  while (i < bytes.size()) {
    if (At(bytes, i) != kMarker) return Malformed();
    // Fill bytes (0xFF runs) may precede a marker.
    while (i < bytes.size() && At(bytes, i) == kMarker) ++i;
    if (i >= bytes.size()) return Malformed();
    uint8_t marker = At(bytes, i);
    size_t segment_start = i - 1;
    ++i;
    if (marker == kEoi) {
      Append(out, bytes, segment_start, 2);
      return out;  // anything after EOI (some phones append data) is dropped too
    }
    if (IsStandalone(marker)) {
      Append(out, bytes, segment_start, 2);
      continue;
    }
    if (i + 2 > bytes.size()) return Malformed();
    size_t length = (static_cast<size_t>(At(bytes, i)) << 8) | At(bytes, i + 1);
    if (length < 2 || i + length > bytes.size()) return Malformed();
    size_t segment_end = i + length;
    if (marker == kSos) {
      // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a
      // restart marker; copy it verbatim through EOI.
      size_t j = segment_end;
      while (j + 1 < bytes.size()) {
        if (At(bytes, j) == kMarker && At(bytes, j + 1) != 0x00 &&
            !(At(bytes, j + 1) >= 0xD0 && At(bytes, j + 1) <= 0xD7) &&
            At(bytes, j + 1) != kMarker) {
          break;
        }
        ++j;
      }
      Append(out, bytes, segment_start, j - segment_start);
      i = j;
      continue;
    }
    if (!IsMetadata(marker)) Append(out, bytes, segment_start, segment_end - segment_start);
    i = segment_end;
  }
  return Malformed();  // no EOI: truncated
}

}  // namespace

// A crafted file can parse one way whole and another once a segment is gone (the
// fuzzer found one: a kept segment whose length swallowed an APP1 that a second pass
// then saw as metadata, and a decoder might too). So strip until a pass changes
// nothing: no parse of what is kept finds a metadata segment.
absl::StatusOr<std::string> StripJpegMetadata(absl::string_view bytes) {
  TEMOIN_ASSIGN_OR_RETURN(std::string out, StripOnce(bytes));
  for (int pass = 1; pass < kMaxPasses; ++pass) {
    TEMOIN_ASSIGN_OR_RETURN(std::string again, StripOnce(out));
    if (again == out) return out;
    out = std::move(again);
  }
  return absl::InvalidArgumentError("not a well-formed JPEG (its segments do not settle)");
}

}  // namespace temoin::client
