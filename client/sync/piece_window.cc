#include "client/sync/piece_window.h"

#include <algorithm>
#include <cmath>

namespace temoin::client {

PieceWindow::PieceWindow(uint64_t max_bytes, uint64_t piece_bytes)
    : piece_(piece_bytes),
      max_(std::max(max_bytes, piece_bytes)),
      min_(std::min(2 * piece_bytes, max_)),
      bytes_(min_) {}

void PieceWindow::OnAck(double took_seconds, uint64_t acked) {
  const double sample = std::max(took_seconds, 1e-6);
  shortest_ = std::min(shortest_, sample);
  const double pieces = std::round(static_cast<double>(acked) / static_cast<double>(piece_));
  if (pieces == 1) shortest_one_ = std::min(shortest_one_, sample);
  if (pieces == 2) shortest_two_ = std::min(shortest_two_, sample);
  const std::optional<double> path = PathBytes();
  if (!path.has_value()) return Vegas(sample, acked);
  // Within [path, path + a piece).
  if (static_cast<double>(bytes_) < *path) {
    bytes_ = std::min(bytes_ + piece_, max_);
  } else if (static_cast<double>(bytes_) >= *path + static_cast<double>(piece_)) {
    bytes_ = std::max(bytes_ - std::min(bytes_, piece_), min_);
  }
}

std::optional<double> PieceWindow::PathBytes() const {
  if (shortest_one_ >= 1e9 || shortest_two_ >= 1e9) return std::nullopt;
  const double air = shortest_two_ - shortest_one_;
  // Two pieces that were not sent together time like one: no air time can be read off
  // them, and dividing by a near-zero one would open the window wide.
  if (air < shortest_one_ / 16) return std::nullopt;
  const double round_trip = std::max(0.0, shortest_one_ - air);
  return round_trip / air * static_cast<double>(piece_) + 2.0 * static_cast<double>(piece_);
}

// The window moves by the bytes acknowledged (at least a piece), as it did when every
// piece had its own answer: with quiet pieces one answer stands for half a window, and
// moving one piece per answer left the window under the bandwidth-delay product at
// 300 ms (0.74 of a clean 256 kbit/s link).
void PieceWindow::Vegas(double sample, uint64_t acked) {
  const double queued = static_cast<double>(bytes_) * (1 - shortest_ / sample);
  const uint64_t step = std::max(acked, piece_);
  if (queued < static_cast<double>(piece_) / 2.0) {
    bytes_ = std::min(bytes_ + step, max_);
  } else if (queued > static_cast<double>(piece_)) {
    bytes_ = std::max(bytes_ - std::min(bytes_, step), min_);
  }
}

}  // namespace temoin::client
