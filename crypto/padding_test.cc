#include "crypto/padding.h"

#include <gtest/gtest.h>

#include "crypto/envelope.h"
#include "crypto/test_util.h"

namespace temoin::crypto {
namespace {

using internal::PadmePad;
using internal::PadmeUnpaddedLength;

TEST(PadmeTest, OverheadIsAtMostTwelvePercentFrom256BytesTo1MiB) {
  for (uint64_t length = 256; length <= (1u << 20); ++length) {
    const uint64_t padded = PadmeLength(length);
    ASSERT_GE(padded, length);
    ASSERT_LE(static_cast<double>(padded - length), 0.12 * static_cast<double>(length))
        << "length " << length;
  }
}

TEST(PadmeTest, IsMonotonic) {
  uint64_t previous = PadmeLength(0);
  for (uint64_t length = 1; length <= (1u << 20) + 4096; ++length) {
    const uint64_t padded = PadmeLength(length);
    ASSERT_GE(padded, previous) << "length " << length;
    previous = padded;
  }
}

TEST(PadmeTest, IsIdempotentSoPaddedLengthsAreRecognisable) {
  for (uint64_t length = 0; length <= 300000; ++length) {
    ASSERT_EQ(PadmeLength(PadmeLength(length)), PadmeLength(length)) << "length " << length;
  }
}

TEST(PadmeTest, KnownValues) {
  EXPECT_EQ(PadmeLength(0), 0u);
  EXPECT_EQ(PadmeLength(1), 1u);
  EXPECT_EQ(PadmeLength(9), 10u);
  EXPECT_EQ(PadmeLength(1000), 1024u);
  EXPECT_EQ(PadmeLength(1025), 1088u);
}

TEST(PadTest, PadThenUnpadRoundTrips) {
  for (size_t length = 0; length < 3000; ++length) {
    const std::string data(length, '\x80');  // the marker byte inside the data is fine
    const std::string padded = PadmePad(data);
    ASSERT_EQ(padded.size(), PadmeLength(length + 1));
    absl::StatusOr<size_t> unpadded = PadmeUnpaddedLength(padded);
    ASSERT_TRUE(unpadded.ok()) << unpadded.status();
    ASSERT_EQ(*unpadded, length);
  }
}

TEST(PadTest, UnpadRejectsMissingMarker) {
  EXPECT_EQ(PadmeUnpaddedLength(std::string(16, '\0')).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(PadmeUnpaddedLength("").status().code(), absl::StatusCode::kDataLoss);
}

TEST(PadTest, UnpadRejectsNonZeroAfterMarker) {
  std::string padded = PadmePad(std::string(1000, 'a'));
  ASSERT_GT(padded.size(), 1002u);
  padded.back() = '\x01';
  EXPECT_EQ(PadmeUnpaddedLength(padded).status().code(), absl::StatusCode::kDataLoss);
}

TEST(PadTest, UnpadRejectsPaddingLongerThanPadme) {
  // A valid-looking marker but more zeros than Padmé would add: two encodings of the
  // same body must not both be accepted.
  std::string padded = std::string(1000, 'a') + '\x80' + std::string(87, '\0');
  ASSERT_EQ(PadmeLength(padded.size()), padded.size());
  EXPECT_EQ(PadmeUnpaddedLength(padded).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace temoin::crypto
