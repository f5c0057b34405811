#include "client/sync/piece_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>

namespace temoin::client {
namespace {

constexpr uint64_t kPiece = 8192;
constexpr uint64_t kMaxWindow = 64 << 10;

struct Link {
  double bytes_per_second;
  double one_way_delay;  // each direction
};

struct Outcome {
  double share_of_link = 0;  // payload ÷ (time × rate)
  uint64_t largest_window = 0;
  uint64_t final_window = 0;
};

// The upload as attachment_transfer.cc runs it, over a simulated link: pieces queue in
// front of the uplink and go out one after another at its rate, each reaches the server
// one delay later, and an answer comes back one delay after that (answers are small).
// A piece asks for an answer every half window and when the window would otherwise
// fill, as SendPiece decides.
Outcome Upload(Link link, int pieces) {
  struct Sent {
    double at;
    bool answered;
    double answer_at;
  };
  PieceWindow window(kMaxWindow, kPiece);
  std::deque<Sent> in_flight;
  uint64_t bytes_in_flight = 0, unanswered = 0;
  double now = 0, link_free_at = 0;
  int sent = 0;
  Outcome out;
  while (sent < pieces || !in_flight.empty()) {
    while (sent < pieces && (bytes_in_flight == 0 || bytes_in_flight + kPiece <= window.bytes())) {
      bytes_in_flight += kPiece;
      unanswered += kPiece;
      const bool answered = sent + 1 == pieces || unanswered >= window.bytes() / 2 ||
                            bytes_in_flight + kPiece > window.bytes();
      if (answered) unanswered = 0;
      const double on_air = std::max(now, link_free_at);
      link_free_at = on_air + kPiece / link.bytes_per_second;
      in_flight.push_back({now, answered, link_free_at + 2 * link.one_way_delay});
      ++sent;
    }
    // The next answer: every piece up to the first that asked for one.
    uint64_t acked = 0;
    while (!in_flight.empty()) {
      const Sent piece = in_flight.front();
      in_flight.pop_front();
      acked += kPiece;
      if (piece.answered) {
        now = piece.answer_at;
        window.OnAck(now - piece.at, acked);
        break;
      }
    }
    bytes_in_flight -= acked;
    out.largest_window = std::max(out.largest_window, window.bytes());
  }
  out.share_of_link = pieces * kPiece / (now * link.bytes_per_second);
  out.final_window = window.bytes();
  return out;
}

TEST(PieceWindowTest, FillsALinkWithARoundTripOfSixHundredMilliseconds) {
  // 256 kbit/s, 300 ms each way, 5 MB: the bandwidth-delay product is 19.2 KB. Vegas
  // alone stayed at 24 KiB here, 0.67 of the link in sync_bench.
  const Outcome out = Upload({32000, 0.3}, 640);
  EXPECT_GE(out.share_of_link, 0.95) << "window " << out.final_window;
  EXPECT_GE(out.final_window, 32u << 10);
  EXPECT_LE(out.largest_window, 48u << 10);  // no more than the path needs, and a piece
}

TEST(PieceWindowTest, StaysAtTwoPiecesWithoutAddedDelay) {
  // 256 kbit/s and no delay (the cut row of issue 13): a third piece would only wait in
  // front of the link, and be lost at a cut.
  // The first answer, with nothing to compare it with, grows the window by a piece.
  const Outcome out = Upload({32000, 0.0}, 640);
  EXPECT_EQ(out.final_window, 2 * kPiece);
  EXPECT_LE(out.largest_window, 3 * kPiece);
  EXPECT_GE(out.share_of_link, 0.99);
}

TEST(PieceWindowTest, StaysSmallOnTwoG) {
  // 64 kbit/s with 300 ms each way: a piece is a second on the air, the round trip only
  // 0.6 of one.
  const Outcome out = Upload({8000, 0.3}, 160);
  EXPECT_LE(out.largest_window, 3 * kPiece);
  EXPECT_GE(out.share_of_link, 0.95) << "window " << out.final_window;
}

TEST(PieceWindowTest, GrowsToItsCeilingOnAFastLongPath) {
  // 10 Mbit/s, 100 ms each way: the product (250 KB) is past the ceiling. A piece's
  // air time (6.5 ms) is too short beside the round trip to read, so Vegas steers.
  const Outcome out = Upload({1.25e6, 0.1}, 2000);
  EXPECT_GE(out.final_window, kMaxWindow * 3 / 4);
}

TEST(PieceWindowTest, NeverBelowTwoPiecesNorAboveTheCeiling) {
  PieceWindow window(kMaxWindow, kPiece);
  for (int i = 0; i < 50; ++i) window.OnAck(0.1 * (i + 1), kPiece);  // ever slower
  EXPECT_EQ(window.bytes(), 2 * kPiece);
  PieceWindow fast(kMaxWindow, kPiece);
  for (int i = 0; i < 50; ++i) fast.OnAck(0.1, 2 * kPiece);
  EXPECT_EQ(fast.bytes(), kMaxWindow);
}

}  // namespace
}  // namespace temoin::client
