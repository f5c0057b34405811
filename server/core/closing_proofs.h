#ifndef TEMOIN_SERVER_CORE_CLOSING_PROOFS_H_
#define TEMOIN_SERVER_CORE_CLOSING_PROOFS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "server/core/core.h"
#include "server/core/session.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::server {

// GetLogProofs' limit on indexes in one request (Core::GetLogProofs).
inline constexpr size_t kMaxProvenIndexes = 1024;

// The log indexes one upload stream (Upload or UploadAttachment) has receipted, so
// that its closing request need not name them: the device sends that request,
// pipelined, before it has seen those answers (issue 13, "the attempt").
class ReceiptedIndexes {
 public:
  // A receipt answered on the stream: a whole one (its body names the index), or a
  // batch receipt's leaf (`leaf_index`, when the receipt was compacted away).
  void Add(const v1::Receipt* receipt, uint64_t leaf_index = 0);
  const std::vector<uint64_t>& indexes() const { return indexes_; }

 private:
  std::vector<uint64_t> indexes_;
};

// The answer to a stream's closing request `asked`: the joint proof of the indexes it
// names and those `receipted` on the stream, in the newest checkpoint, consistent from
// the larger of `asked.old_size()` and `opened_tree_size` (the checkpoint a sign-in on
// the stream answered). Nothing (std::nullopt) when there is nothing to prove or more
// than one answer holds: the device then asks with GetLogProofs.
//
// Never an error: proofs the server cannot give now (its log key, a witness, a rate
// limit) leave the answer empty too, since every piece and receipt of the stream has
// landed, and the device's GetLogProofs call then says what is wrong.
std::optional<v1::GetLogProofsResponse> ProveClosing(Core& core, const Session& session,
                                                     const v1::GetLogProofsRequest& asked,
                                                     const ReceiptedIndexes& receipted,
                                                     uint64_t opened_tree_size = 0);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_CLOSING_PROOFS_H_
