#include "client/core/jpeg_metadata.h"

#include "gtest/gtest.h"

namespace temoin::client {
namespace {

std::string Segment(uint8_t marker, const std::string& payload) {
  std::string s = {'\xFF', static_cast<char>(marker)};
  size_t length = payload.size() + 2;
  s += static_cast<char>(length >> 8);
  s += static_cast<char>(length & 0xFF);
  return s + payload;
}

// A structurally valid JPEG: JFIF, EXIF with a GPS tag name, XMP, a comment, a
// quantisation table, SOF, SOS with entropy data holding stuffed bytes and a restart
// marker, EOI.
std::string PhoneJpeg() {
  std::string jpeg = "\xFF\xD8";
  jpeg += Segment(0xE0, std::string("JFIF\0\1\1\0\0\1\0\1\0\0", 14));
  jpeg += Segment(0xE1, std::string("Exif\0\0", 6) + "GPSLatitude 14.49 N Mopti SERIAL-XYZ");
  jpeg += Segment(0xE1, "http://ns.adobe.com/xap/1.0/ <xmp>GPSLongitude -4.19</xmp>");
  jpeg += Segment(0xED, "Photoshop 3.0 IPTC City=Sevare");
  jpeg += Segment(0xFE, "taken by monitor 7");
  jpeg += Segment(0xDB, std::string(65, '\x01'));
  jpeg += Segment(0xC0, std::string("\x08\x00\x10\x00\x10\x01\x01\x11\x00", 9));
  jpeg += Segment(0xDA, std::string("\x01\x01\x00\x00\x3F\x00", 6));
  jpeg += std::string("\x12\x34\xFF\x00\x56\xFF\xD0\x78\x9A", 9);  // data, stuffing, RST0
  jpeg += "\xFF\xD9";
  return jpeg;
}

TEST(JpegMetadataTest, StripsExifXmpIptcAndCommentsButKeepsTheImage) {
  std::string original = PhoneJpeg();
  absl::StatusOr<std::string> stripped = StripJpegMetadata(original);
  ASSERT_TRUE(stripped.ok()) << stripped.status();
  for (const char* leak : {"GPS", "Exif", "SERIAL", "xmp", "IPTC", "monitor 7", "Sevare"}) {
    EXPECT_EQ(stripped->find(leak), std::string::npos) << leak;
  }
  EXPECT_NE(stripped->find("JFIF"), std::string::npos);
  // Tables, frame, scan header and entropy-coded data survive byte for byte.
  size_t dqt = original.find("\xFF\xDB");
  EXPECT_NE(stripped->find(original.substr(dqt)), std::string::npos);
}

TEST(JpegMetadataTest, StrippingTwiceChangesNothing) {
  std::string once = *StripJpegMetadata(PhoneJpeg());
  EXPECT_EQ(*StripJpegMetadata(once), once);
}

TEST(JpegMetadataTest, TruncatedOrForeignBytesAreRefused) {
  std::string jpeg = PhoneJpeg();
  EXPECT_FALSE(StripJpegMetadata(jpeg.substr(0, jpeg.size() - 2)).ok());  // no EOI
  EXPECT_FALSE(StripJpegMetadata(jpeg.substr(0, 30)).ok());               // cut inside a segment
  EXPECT_FALSE(StripJpegMetadata("RIFF....WAVEfmt ").ok());
  EXPECT_FALSE(LooksLikeJpeg("RIFF"));
  std::string bad_length = jpeg;
  bad_length[4] = '\x7F';  // APP0 claims more bytes than there are
  EXPECT_FALSE(StripJpegMetadata(bad_length).ok());
}

TEST(JpegMetadataTest, DataAfterEndOfImageIsDropped) {
  std::string jpeg = PhoneJpeg() + "trailing GPS blob";
  std::string stripped = *StripJpegMetadata(jpeg);
  EXPECT_EQ(stripped.find("trailing"), std::string::npos);
}

}  // namespace
}  // namespace temoin::client
