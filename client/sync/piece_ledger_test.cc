#include "client/sync/piece_ledger.h"

#include <gtest/gtest.h>

#include "client/core/attachments.h"

namespace temoin::client {
namespace {

using Clock = PieceLedger::Clock;

constexpr uint64_t kPiece = 8192;
constexpr uint64_t kWindow = 32 << 10;  // four pieces: an answer every two

BlobJob Job(const std::string& record_id, const std::string& blob_id, bool unasked = false) {
  BlobJob job;
  job.record_id = record_id;
  job.ref.set_blob_id(blob_id);
  job.ref.set_size(3 * kUploadChunkBytes);
  job.unasked = unasked;
  return job;
}

// Piece `n` (0-based) of a blob cut into kPiece pieces, eight to a slice.
PieceLedger::Piece Nth(uint64_t n, bool ends_blob = false) {
  return {n / 8, (n % 8) * kPiece, kPiece, n % 8 == 7, ends_blob};
}

Clock::time_point At(double seconds) {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
}

TEST(PieceLedgerTest, QuietPiecesAreAcknowledgedByTheNextAnswer) {
  const std::vector<BlobJob> todo = {Job("r", "b")};
  AcknowledgedBlobs acknowledged;
  PieceLedger ledger(&acknowledged, todo);
  EXPECT_FALSE(ledger.Write(todo[0], Nth(0), kWindow, kPiece, At(0)));   // quiet
  EXPECT_TRUE(ledger.Write(todo[0], Nth(1), kWindow, kPiece, At(0.1)));  // half the window
  EXPECT_FALSE(ledger.Write(todo[0], Nth(2), kWindow, kPiece, At(0.2)));
  EXPECT_TRUE(ledger.Write(todo[0], Nth(3), kWindow, kPiece, At(0.3)));
  EXPECT_EQ(ledger.bytes_in_flight(), 4 * kPiece);

  PieceLedger::Acknowledged acked = ledger.Answer(false, At(1.1));
  EXPECT_EQ(acked.bytes, 2 * kPiece);
  ASSERT_TRUE(acked.took.has_value());
  EXPECT_NEAR(std::chrono::duration<double>(*acked.took).count(), 1.0, 1e-6);
  EXPECT_EQ(acknowledged["b"].index, 0u);
  EXPECT_EQ(acknowledged["b"].offset, 2 * kPiece);
  EXPECT_EQ(ledger.bytes_in_flight(), 2 * kPiece);
}

TEST(PieceLedgerTest, ASliceMadeWholeMovesTheBlobToTheNextSlice) {
  const std::vector<BlobJob> todo = {Job("r", "b")};
  AcknowledgedBlobs acknowledged;
  PieceLedger ledger(&acknowledged, todo);
  for (uint64_t n = 0; n < 8; ++n) ledger.Write(todo[0], Nth(n), 2 * kPiece, kPiece, At(0));
  uint64_t slices = 0;
  for (int i = 0; i < 8 && ledger.bytes_in_flight() > 0; ++i) {
    slices += ledger.Answer(false, At(1)).slices;
  }
  EXPECT_EQ(slices, 1u);
  EXPECT_EQ(acknowledged["b"].index, 1u);
  EXPECT_EQ(acknowledged["b"].offset, 0u);
}

TEST(PieceLedgerTest, AnUnaskedBlobAsksWithEveryPieceUntilItsFirstAnswer) {
  const std::vector<BlobJob> todo = {Job("r", "b", /*unasked=*/true), Job("r2", "c")};
  PieceLedger ledger(nullptr, todo);
  EXPECT_TRUE(ledger.Write(todo[0], Nth(0), kWindow, kPiece, At(0)));
  EXPECT_TRUE(ledger.Write(todo[0], Nth(1), kWindow, kPiece, At(0)));
  EXPECT_TRUE(ledger.Write(todo[0], Nth(2), kWindow, kPiece, At(0)));
  // One answer to each: none acknowledges a piece it was not asked for.
  EXPECT_EQ(ledger.Answer(false, At(1)).bytes, kPiece);
  EXPECT_FALSE(ledger.Write(todo[0], Nth(3), kWindow, kPiece, At(1)));  // confirmed: quiet again
  EXPECT_EQ(ledger.Answer(false, At(1)).bytes, kPiece);
  EXPECT_EQ(ledger.Answer(false, At(1)).bytes, kPiece);
  // Another blob, asked about, follows the window: with the quiet piece still out it
  // reaches half the window and asks, and its next piece is quiet.
  EXPECT_TRUE(ledger.Write(todo[1], Nth(0), kWindow, kPiece, At(1)));
  EXPECT_FALSE(ledger.Write(todo[1], Nth(1), kWindow, kPiece, At(1)));
}

TEST(PieceLedgerTest, AnAnswerThatSaysWholeEndsThatBlobOnly) {
  // A record of two blobs: the first was whole on the server, without its receipt
  // (the second is not): every piece of it would be answered, asked or quiet.
  const std::vector<BlobJob> todo = {Job("r", "b1", /*unasked=*/true),
                                     Job("r", "b2", /*unasked=*/true)};
  AcknowledgedBlobs acknowledged;
  PieceLedger ledger(&acknowledged, todo);
  // Resumed mid-slice, well short of the end: the server holds it all the same.
  ASSERT_TRUE(ledger.Write(todo[0], Nth(12), kWindow, kPiece, At(0)));
  ASSERT_TRUE(ledger.Write(todo[0], Nth(13), kWindow, kPiece, At(0)));
  EXPECT_FALSE(ledger.BlobDone(todo[0]));
  EXPECT_EQ(ledger.Answer(/*blob_whole=*/true, At(1)).bytes, kPiece);
  EXPECT_TRUE(ledger.BlobDone(todo[0]));
  EXPECT_FALSE(ledger.BlobDone(todo[1]));
  EXPECT_EQ(acknowledged["b1"].index, 3u);  // to its end, not past the piece that asked
  EXPECT_EQ(acknowledged["b1"].offset, 0u);
  EXPECT_EQ(ledger.Answer(/*blob_whole=*/true, At(1)).bytes, kPiece);
  EXPECT_EQ(acknowledged["b1"].index, 3u);
  EXPECT_EQ(acknowledged.count("b2"), 0u);
}

TEST(PieceLedgerTest, AReceiptEndsEveryBlobOfItsRecordOnce) {
  const std::vector<BlobJob> todo = {Job("r", "b1"), Job("r", "b2"), Job("s", "c")};
  PieceLedger ledger(nullptr, todo);
  EXPECT_FALSE(ledger.Receipted("r"));
  EXPECT_TRUE(ledger.TakeReceipt("r"));
  EXPECT_FALSE(ledger.TakeReceipt("r"));  // the same receipt on a repeat's answer
  EXPECT_TRUE(ledger.Receipted("r"));
  EXPECT_TRUE(ledger.BlobDone(todo[0]));
  EXPECT_TRUE(ledger.BlobDone(todo[1]));
  EXPECT_FALSE(ledger.BlobDone(todo[2]));
}

TEST(PieceLedgerTest, AnAnswerWithNothingInFlightAcknowledgesNothing) {
  const std::vector<BlobJob> todo = {Job("r", "b")};
  AcknowledgedBlobs acknowledged;
  PieceLedger ledger(&acknowledged, todo);
  PieceLedger::Acknowledged acked = ledger.Answer(true, At(1));
  EXPECT_EQ(acked.bytes, 0u);
  EXPECT_FALSE(acked.took.has_value());
  EXPECT_TRUE(acknowledged.empty());
  EXPECT_FALSE(ledger.BlobDone(todo[0]));
}

}  // namespace
}  // namespace temoin::client
