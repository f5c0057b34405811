#include "crypto/batch_tree.h"

#include "crypto/keys.h"

namespace temoin::crypto::batch_tree {
namespace {

std::string NodeHash(absl::string_view context, absl::string_view left, absl::string_view right) {
  std::string both(left);
  both.append(right.data(), right.size());
  return Hash256(context, both);
}

size_t SplitPoint(size_t n) {  // the largest power of two below n (n >= 2)
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

std::string RootOf(absl::string_view context, const std::vector<std::string>& leaves, size_t begin,
                   size_t end, std::vector<std::vector<std::string>>* paths) {
  if (end - begin == 1) return leaves[begin];
  size_t mid = begin + SplitPoint(end - begin);
  std::string left = RootOf(context, leaves, begin, mid, paths);
  std::string right = RootOf(context, leaves, mid, end, paths);
  if (paths != nullptr) {
    for (size_t i = begin; i < mid; ++i) (*paths)[i].push_back(right);
    for (size_t i = mid; i < end; ++i) (*paths)[i].push_back(left);
  }
  return NodeHash(context, left, right);
}

std::optional<std::string> RootFromPathAt(
    absl::string_view context, const std::string& leaf, uint64_t index, uint64_t count,
    const google::protobuf::RepeatedPtrField<std::string>& path, int depth) {
  if (count == 1) {
    if (depth != 0) return std::nullopt;
    return leaf;
  }
  if (depth == 0) return std::nullopt;
  const std::string& sibling = path[depth - 1];
  if (sibling.size() != kHashBytes) return std::nullopt;
  uint64_t k = SplitPoint(count);
  if (index < k) {
    std::optional<std::string> left = RootFromPathAt(context, leaf, index, k, path, depth - 1);
    if (!left.has_value()) return std::nullopt;
    return NodeHash(context, *left, sibling);
  }
  std::optional<std::string> right =
      RootFromPathAt(context, leaf, index - k, count - k, path, depth - 1);
  if (!right.has_value()) return std::nullopt;
  return NodeHash(context, sibling, *right);
}

}  // namespace

std::string Root(absl::string_view node_context, const std::vector<std::string>& leaves,
                 std::vector<std::vector<std::string>>* paths) {
  if (paths != nullptr) paths->assign(leaves.size(), {});
  return RootOf(node_context, leaves, 0, leaves.size(), paths);
}

std::optional<std::string> RootFromPath(
    absl::string_view node_context, const std::string& leaf, uint64_t index, uint64_t count,
    const google::protobuf::RepeatedPtrField<std::string>& path) {
  if (index >= count || count > kMaxLeaves || path.size() > kMaxPathLength) return std::nullopt;
  return RootFromPathAt(node_context, leaf, index, count, path, path.size());
}

std::string SignedMessage(size_t count, absl::string_view root) {
  std::string message;
  AppendU32(message, static_cast<uint32_t>(count));
  message.append(root.data(), root.size());
  return message;
}

void AppendU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void AppendU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void AppendBytes(std::string& out, absl::string_view bytes) {
  AppendU32(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes.data(), bytes.size());
}

}  // namespace temoin::crypto::batch_tree
