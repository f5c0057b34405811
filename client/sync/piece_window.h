#ifndef TEMOIN_CLIENT_SYNC_PIECE_WINDOW_H_
#define TEMOIN_CLIENT_SYNC_PIECE_WINDOW_H_

#include <cstdint>
#include <optional>

// The byte window of unacknowledged attachment pieces (client/sync/attachment_transfer.cc),
// kept near what the path holds without queueing: what is queued in front of the link (a
// modem's buffer) is lost at a cut, and pieces waiting in the server's receive buffers
// behind a synced write are lost too, though they were carried over the air.
//
// Two estimates, the second taking over once it can be made:
// - Vegas: from the shortest acknowledgement time seen, the bytes queued are
//   window × (1 − shortest / latest). Under half a piece queued the window grows by what
//   the answer acknowledged, over one piece it shrinks by as much. On a 2G link, or any
//   link without added delay, it stays at two pieces (one on the air, one waiting).
// - The path: an answer covers one piece or two sent together. The shortest time for two
//   minus the shortest for one is one piece's air time; the rest of the shortest time for
//   one is the round trip. The window then aims at the bandwidth-delay product plus one
//   answer's two pieces, which keeps the link busy while an answer crosses. Vegas alone
//   held the window at 24 KiB on a clean 256 kbit/s link with a 600 ms round trip (0.67
//   of the link), because the second piece of each answer waited behind the first and
//   that wait read as queue.
// Between two pieces and `max_bytes`.
namespace temoin::client {

class PieceWindow {
 public:
  PieceWindow(uint64_t max_bytes, uint64_t piece_bytes);

  uint64_t bytes() const { return bytes_; }

  // An answer that acknowledged `acked` bytes came back `took_seconds` after the piece
  // that asked for it was written.
  void OnAck(double took_seconds, uint64_t acked);

  // The window the path needs (bandwidth-delay product plus two pieces), once one- and
  // two-piece answers have both been timed and differ enough to tell a piece's air time.
  std::optional<double> PathBytes() const;

 private:
  void Vegas(double sample, uint64_t acked);

  const uint64_t piece_;
  const uint64_t max_;
  const uint64_t min_;
  uint64_t bytes_;
  double shortest_ = 1e9;      // any answer
  double shortest_one_ = 1e9;  // an answer for one piece
  double shortest_two_ = 1e9;  // an answer for two pieces
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_PIECE_WINDOW_H_
