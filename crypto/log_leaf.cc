#include "crypto/log_leaf.h"

#include "absl/strings/string_view.h"
#include "common/encoding.h"
#include "crypto/keys.h"

namespace temoin::crypto {
namespace {

constexpr absl::string_view kLeafDomain = "temoin-log-leaf/v1";

void AppendLengthPrefixed(std::string& out, absl::string_view field) {
  out.push_back(static_cast<char>(field.size() >> 8));
  out.push_back(static_cast<char>(field.size() & 0xff));
  out.append(field.data(), field.size());
}

}  // namespace

std::string EncodeLogLeaf(const LogLeaf& leaf) {
  std::string out(kLeafDomain.data(), kLeafDomain.size());
  out.push_back('\0');
  out += EncodeU64BigEndian(leaf.log_index);
  AppendLengthPrefixed(out, leaf.record_id);
  AppendLengthPrefixed(out, leaf.digest);
  AppendLengthPrefixed(out, leaf.device_id);
  out += EncodeU64BigEndian(leaf.device_seq);
  out += EncodeU64BigEndian(static_cast<uint64_t>(leaf.received_hour));
  return out;
}

std::string LogKeyTag(absl::string_view vkey) {
  return Hash256("temoin/log-key-tag/v1", vkey).substr(0, 8);
}

}  // namespace temoin::crypto
